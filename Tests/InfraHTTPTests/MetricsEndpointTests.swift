import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InfraApp
import InfraDomain
@testable import InfraHTTP
import Logging
import Prometheus
import Testing

@Suite("/metrics in process: only a metrics token opens it, the gauges are refreshed per scrape, Prometheus text out")
struct MetricsEndpointTests {
    /// How many times the endpoint asked for the scrape-time gauges.
    final class Refreshes: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var failing = false
        var value: Int { lock.withLock { count } }
        func refresh() throws {
            try lock.withLock {
                count += 1
                if failing { throw ClientTokens.Problem(description: "the store is gone") }
            }
        }
    }

    /// A tokens file with an MCP token, a metrics token and a revoked metrics token; returns them in that order.
    static func tokens(in folder: String) throws -> (file: ClientTokenFile, mcp: String, metrics: String, revoked: String) {
        let file = ClientTokenFile(path: folder + "/http-tokens")
        let mcp = try file.add(name: "ci-bot")
        let metrics = try file.add(name: "prometheus", scope: .metrics)
        let revoked = try file.add(name: "old-scraper", scope: .metrics)
        try file.revoke(name: "old-scraper")
        return (file, mcp, metrics, revoked)
    }

    @Test("401 with WWW-Authenticate: Bearer without a token, with an MCP, unknown or revoked token; 200 and the text with a metrics token")
    func access() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-endpoint-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tokens = try Self.tokens(in: folder)
        let registry = PrometheusCollectorRegistry()
        let metrics = InfraMetrics(factory: PrometheusMetricsFactory(registry: registry))
        metrics.toolCall(tool: "list_hosts", ok: true)
        metrics.toolCall(tool: "list_hosts", ok: true)
        metrics.toolCall(tool: "unknown", ok: false)
        let refreshes = Refreshes()
        let logger = Logger(label: "test")
        let endpoint = MetricsEndpoint(registry: registry, authenticator: ClientAuthenticator(file: tokens.file, logger: logger),
                                       refresh: { try refreshes.refresh() }, logger: logger)
        let router = Router()
        endpoint.register(on: router)
        try await Application(router: router).test(.router) { client in
            for (label, header) in [("none", nil), ("mcp", "Bearer " + tokens.mcp), ("unknown", "Bearer mlit_" + String(repeating: "A", count: 43)),
                                    ("revoked", "Bearer " + tokens.revoked), ("basic", "Basic " + tokens.metrics)] as [(String, String?)] {
                var headers = HTTPFields()
                if let header { headers[.authorization] = header }
                try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized, "\(label)")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(label)")
                    #expect(!String(buffer: response.body).contains("mcp_infra_"), "\(label)")
                }
            }
            #expect(refreshes.value == 0, "a refused scrape reads no state")
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer " + tokens.metrics]) { response in
                let text = String(buffer: response.body)
                #expect(response.status == .ok && response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(text.contains("# TYPE mcp_infra_tool_calls_total counter"), "\(text)")
                #expect(text.contains(#"mcp_infra_tool_calls_total{tool="list_hosts",outcome="ok"} 2"#), "\(text)")
                #expect(text.contains(#"mcp_infra_tool_calls_total{tool="unknown",outcome="error"} 1"#), "\(text)")
            }
            #expect(refreshes.value == 1)
            // The state cannot be read: the scrape fails visibly rather than showing stale gauges.
            refreshes.failing = true
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer " + tokens.metrics]) { response in
                #expect(response.status == .serviceUnavailable && !String(buffer: response.body).contains("store is gone"))
            }
        }
    }

    @Test("A process that never bootstrapped Prometheus answers 503 to a valid scraper, 401 to anyone else")
    func notBootstrapped() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-endpoint-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tokens = try Self.tokens(in: folder)
        let logger = Logger(label: "test")
        let endpoint = MetricsEndpoint(registry: nil, authenticator: ClientAuthenticator(file: tokens.file, logger: logger), refresh: {},
                                       logger: logger)
        let router = Router()
        endpoint.register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer " + tokens.metrics]) { response in
                #expect(response.status == .serviceUnavailable)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer " + tokens.mcp]) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test("The authenticator gives each endpoint its own scope: an MCP token is a client at /mcp only, a metrics token at /metrics only")
    func scopes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-endpoint-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tokens = try Self.tokens(in: folder)
        let authenticator = ClientAuthenticator(file: tokens.file, logger: Logger(label: "test"))
        #expect(authenticator.authenticate(authorization: "Bearer " + tokens.mcp, scope: .mcp) == .client("ci-bot"))
        #expect(authenticator.authenticate(authorization: "Bearer " + tokens.mcp, scope: .metrics) == .wrongScope("ci-bot"))
        #expect(authenticator.authenticate(authorization: "Bearer " + tokens.metrics, scope: .metrics) == .client("prometheus"))
        #expect(authenticator.authenticate(authorization: "Bearer " + tokens.metrics, scope: .mcp) == .wrongScope("prometheus"))
        #expect(authenticator.authenticate(authorization: "Bearer " + tokens.revoked, scope: .metrics) == .revoked("old-scraper"))
        #expect(authenticator.authenticate(authorization: nil, scope: .metrics) == .missing)
    }
}

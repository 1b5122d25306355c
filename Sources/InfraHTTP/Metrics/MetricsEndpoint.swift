import Foundation
import HTTPTypes
import Hummingbird
import InfraDomain
import Logging
import Metrics
import Prometheus

/// `GET /metrics`: the process's swift-metrics in Prometheus text format, for a scraper holding a token of
/// scope `metrics` (`mcp-linux-infra tokens add NAME --scope metrics`). A missing, unknown or revoked token,
/// and an MCP token, get 401 with `WWW-Authenticate: Bearer`. Each scrape first sets the gauges computed from
/// the state (proposals by state, the audit chain, the SSH pool); a store that cannot be read answers 503
/// (the log says why), so the scrape fails visibly instead of showing stale gauges. Refusals are worded and
/// shaped as `/mcp`'s (``MCPEndpoint/unauthorized(_:_:)``).
public struct MetricsEndpoint: Sendable {
    /// Where the metrics are read; nil when the process never bootstrapped Prometheus (503).
    let registry: PrometheusCollectorRegistry?
    let authenticator: ClientAuthenticator
    /// Sets the scrape-time gauges.
    let refresh: @Sendable () async throws -> Void
    let logger: Logger

    /// The exposition format's media type.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    init(registry: PrometheusCollectorRegistry?, authenticator: ClientAuthenticator, refresh: @escaping @Sendable () async throws -> Void,
         logger: Logger) {
        self.registry = registry
        self.authenticator = authenticator
        self.refresh = refresh
        self.logger = logger
    }

    /// The endpoint of `front`: its tokens file, its MCP server's gauges, the registry the process bootstrapped
    /// (``bootstrap(registry:)``).
    init(front: HTTPFront) {
        let mcp = front.mcp
        self.init(registry: Self.processRegistry, authenticator: ClientAuthenticator(file: front.tokens, logger: front.logger),
                  refresh: { try await mcp.refreshMetrics() }, logger: front.logger)
    }

    /// Makes `registry` the process's swift-metrics backend. Once per process (swift-metrics refuses a second
    /// bootstrap): `serve --http` calls it before serving; tests give each endpoint a registry of its own instead.
    public static func bootstrap(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The registry behind the process's metrics system, if it is Prometheus's.
    static var processRegistry: PrometheusCollectorRegistry? {
        (MetricsSystem.factory as? PrometheusMetricsFactory)?.registry
    }

    /// Adds `GET /metrics` to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/metrics") { request, _ in await respond(to: request) }
    }

    /// Answers one scrape.
    func respond(to request: Request) async -> Response {
        switch authenticator.authenticate(authorization: request.headers[.authorization], scope: .metrics) {
        case .client:
            break
        case .missing:
            return MCPEndpoint.unauthorized(nil, "a bearer token of scope metrics is required (mcp-linux-infra tokens add NAME --scope metrics)\n")
        case .wrongScope(let name):
            logger.notice("/metrics refused a token of another scope", metadata: ["token": "\(name)"])
            return MCPEndpoint.unauthorized("invalid_token", "this token is not a metrics token (mcp-linux-infra tokens add NAME --scope metrics)\n")
        case .unknown, .revoked, .unavailable:
            logger.notice("/metrics refused a token")
            return MCPEndpoint.unauthorized("invalid_token", "this token is not valid here\n")
        }
        guard let registry else {
            return MCPEndpoint.plain(503, "metrics are not enabled in this process\n")
        }
        do {
            try await refresh()
        } catch {
            logger.error("/metrics: the state cannot be read", metadata: ["error": "\(error)"])
            return MCPEndpoint.plain(503, "the state store cannot be read; the server log has the detail\n")
        }
        return Response(status: .ok, headers: [.contentType: Self.contentType, .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
}

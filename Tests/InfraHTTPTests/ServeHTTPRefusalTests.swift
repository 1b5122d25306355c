import Foundation
import InfraTestSupport
import Testing

/// What `serve --http` refuses to start with (the real binary): an address outside loopback without
/// `--allow-remote`, a listen address that is not one, and no valid MCP token (nobody could connect).
@Suite("serve --http refuses to start where serving would be unsafe or pointless (real binary)")
struct ServeHTTPRefusalTests {
    @Test("0.0.0.0 without --allow-remote, a host name, no token, only a metrics token: exit 2 with the fix; nothing listens")
    func refusals() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-refuse-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let envFile = try await LocalServeConfiguration.make(in: folder, hosts: ["down"], port: try LocalServeConfiguration.closedPort())
        func serve(_ arguments: [String]) async throws -> ProcessRunner.Outcome {
            try await ProcessRunner.run(productBinary(), ["serve", "--env-file", envFile] + arguments)
        }
        let noToken = try await serve(["--http", "127.0.0.1:0"])
        #expect(noToken.status == 2 && noToken.stderr.contains("tokens add NAME"), "\(noToken)")

        let metricsOnly = try await ProcessRunner.run(productBinary(), ["tokens", "add", "scraper", "--scope", "metrics", "--env-file", envFile])
        #expect(metricsOnly.status == 0, "\(metricsOnly)")
        let onlyMetrics = try await serve(["--http", "127.0.0.1:0"])
        #expect(onlyMetrics.status == 2 && onlyMetrics.stderr.contains("no valid MCP token"), "\(onlyMetrics)")

        #expect(try await ProcessRunner.run(productBinary(), ["tokens", "add", "claude-ops", "--env-file", envFile]).status == 0)
        let wildcard = try await serve(["--http", "0.0.0.0:0"])
        #expect(wildcard.status == 2 && wildcard.stderr.contains("not a loopback address") && wildcard.stderr.contains("--allow-remote"),
                "\(wildcard)")
        let named = try await serve(["--http", "localhost:8750"])
        #expect(named.status == 2 && named.stderr.contains("--http:") && named.stderr.contains("host names are not accepted"), "\(named)")
    }
}

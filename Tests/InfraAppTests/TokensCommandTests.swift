import Foundation
import InfraTestSupport
import Testing

@Suite("mcp-linux-infra tokens: add prints the token once, the file keeps 0600 hashes, list and revoke (real binary)")
struct TokensCommandTests {
    @Test("add, list, revoke, and each refusal with exit 1 and an escaped message")
    func lifecycle() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-tokens-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/state/http-tokens"
        // Every setting from the environment; the settings file a command needs is empty.
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "".write(toFile: folder + "/settings.env", atomically: true, encoding: .utf8)
        let environment = ["LINUX_MCP_HTTP_TOKENS": file, "LINUX_MCP_DB": folder + "/state/state.sqlite3", "HOME": folder,
                           "PATH": "/usr/bin:/bin", "LINUX_MCP_ENV_FILE": folder + "/settings.env"]
        func cli(_ arguments: [String]) async throws -> ProcessRunner.Outcome {
            try await ProcessRunner.run(productBinary(), ["tokens"] + arguments, environment: environment, currentDirectory: "/")
        }
        let none = try await cli(["list"])
        #expect(none.status == 0 && none.stdout == "no tokens\n", "\(none)")

        let added = try await cli(["add", "ci-bot"])
        #expect(added.status == 0, "\(added)")
        let token = added.stdout.trimmingCharacters(in: .newlines)
        #expect(token.hasPrefix("mlit_") && token.count == 48 && added.stderr.contains("shown once"), "\(added)")
        let stored = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!stored.contains(token) && stored.contains("ci-bot sha256:"), "\(stored)")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
        #expect(mode == 0o600, "mode \(String(mode, radix: 8))")

        let twice = try await cli(["add", "ci-bot"])
        #expect(twice.status == 1 && twice.stderr.contains("exists already") && twice.stdout.isEmpty, "\(twice)")
        let hostile = try await cli(["add", "x\u{1b}[2J"])
        #expect(hostile.status == 1 && hostile.stderr.contains("\\x1b[2J") && !hostile.stderr.contains("\u{1b}"), "\(hostile)")

        let scraper = try await cli(["add", "prometheus", "--scope", "metrics"])
        #expect(scraper.status == 0 && scraper.stderr.contains("metrics token for prometheus"), "\(scraper)")
        let scraperToken = scraper.stdout.trimmingCharacters(in: .newlines)
        let withScope = try String(contentsOfFile: file, encoding: .utf8)
        #expect(withScope.contains("prometheus sha256:") && withScope.split(separator: "\n").contains { $0.hasPrefix("prometheus ") && $0.hasSuffix(" scope=metrics") }
                && !withScope.contains(scraperToken), "\(withScope)")
        let badScope = try await cli(["add", "grafana", "--scope", "admin"])
        #expect(badScope.status != 0 && badScope.stderr.contains("admin") && badScope.stdout.isEmpty, "\(badScope)")

        let listed = try await cli(["list"])
        #expect(listed.status == 0 && listed.stdout.contains("ci-bot") && listed.stdout.contains("valid") && !listed.stdout.contains(token),
                "\(listed)")
        let rows = listed.stdout.split(separator: "\n")
        #expect(rows.first?.contains("SCOPE") == true && rows.contains { $0.hasPrefix("ci-bot ") && $0.contains(" mcp ") }
                && rows.contains { $0.hasPrefix("prometheus ") && $0.contains(" metrics ") } && !rows.contains { $0.hasPrefix("grafana") },
                "\(listed)")
        let revoked = try await cli(["revoke", "ci-bot"])
        #expect(revoked.status == 0 && revoked.stdout == "revoked ci-bot\n", "\(revoked)")
        let after = try await cli(["list"])
        #expect(after.stdout.contains("revoked 20"), "\(after)")
        let again = try await cli(["revoke", "ci-bot"])
        #expect(again.status == 1 && again.stderr.contains("already revoked"), "\(again)")
    }
}

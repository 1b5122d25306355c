import Foundation
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Review console in a real headless Chromium (selenium)")
struct ConsoleBrowserTests {
    static let python = "/var/cache/mcp-linux-infra/mcp-venv/bin/python3"
    static let available = ["/usr/bin/chromium", "/usr/bin/chromedriver", python].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("Chromium logs in with a signed nonce, copies the statement, has it signed with an agent-held key, sees APPROVED; <script> stays text",
          .enabled(if: available, "needs chromium, chromedriver and the selenium virtualenv (scripts/install-deps)"))
    func approvesInChromium() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("console-browser-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let key = try await TestApprovals.makeKey(in: folder, name: "carol")
        let publicKey = try SSHPublicKey.parseLine(try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        let agent = try await SSHAgentProcess(socketPath: folder + "/agent.sock")
        defer { Task { await agent.stop() } }
        try await agent.add(key)
        try FileManager.default.removeItem(atPath: key)

        let fixture = try ConsoleFixture(approvers: [Approver(principal: "carol@example.org", key: publicKey)])
        let rationale = "<script>alert(1)</script> nginx answers 502 on web1"
        let proposal = try await fixture.propose(rationale: rationale)
        let artefacts = LoopbackTarget.repositoryRoot + "/.build/artefacts/console-browser"
        try await fixture.run(.live) { browser in
            let port = try #require(browser.client.port)
            let run = try await ProcessRunner.run(Self.python, [
                LoopbackTarget.repositoryRoot + "/Tests/browser/console_browser.py", "--base-url", "http://127.0.0.1:\(port)",
                "--public-key", key + ".pub", "--artefacts", artefacts, "--expect-rationale", rationale,
            ], environment: agent.environment.merging(["PATH": "/usr/bin:/bin", "HOME": folder]) { first, _ in first })
            #expect(run.status == 0, "console_browser.py: \(run.stderr)")
            let seen = try JSONDecoder().decode([String: String].self, from: Data(run.stdout.utf8))
            #expect(seen["state"] == "APPROVED" && seen["principal"] == "carol@example.org" && seen["action"] == proposal.id)
        }
        let stored = try #require(try fixture.store.load(proposal.id))
        #expect(stored.state == .approved && stored.decisions.first?.osAccount == "console:carol@example.org")
        for page in ["login", "queue", "action", "approved", "audit", "fleet"] {
            #expect(FileManager.default.fileExists(atPath: artefacts + "/\(page).png"), "\(page).png")
        }
    }
}

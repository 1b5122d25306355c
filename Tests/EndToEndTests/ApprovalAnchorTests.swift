import Foundation
import InfraDomain
import InfraTestSupport
import Testing

/// What a signed approval's audit head must be for it to count, through the real binary: the CLI that
/// records it, and the server that claims the run.
@Suite("Approval anchors through the real binary (sshd, sudo, ssh-agent)", endToEnd, .serialized)
struct ApprovalAnchorTests {
    @Test("A statement signed with its audit head rewritten to row 0 (genesis) is refused at approval; nothing is recorded, nothing runs")
    func genesisAnchorRefused() async throws {
        try await ActionBench.with { bench in
            let proposed = try await bench.propose("test_marker", ["label": "genesis"], "anchor: a statement anchored at row 0")
            let id = try #require(proposed["id"] as? String), digest = try #require(proposed["digest"] as? String)
            let printed = try await bench.cli(["actions", "statement", id, "--principal", "bob@loopback"])
            try #require(printed.status == 0, "\(printed)")
            let rewritten = printed.stdout.split(separator: "\n").map { $0.hasPrefix("audit-head: ") ? "audit-head: 0 \(AuditChain.genesis)" : String($0) }
                .joined(separator: "\n") + "\n"
            try #require(rewritten != printed.stdout && (try? ApprovalStatement.parse(rewritten)) != nil, "\(rewritten)")
            let file = bench.state + "/genesis.txt"
            try rewritten.write(toFile: file, atomically: true, encoding: .utf8)
            let signed = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-Y", "sign", "-n", ApprovalStatement.namespace,
                                                                             "-f", bench.state + "/approvers/bob", file])
            try #require(signed.status == 0, "\(signed.stderr)")
            for path in [file, file + ".sig"] { try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path) }

            let approved = try await bench.cli(["actions", "approve", id, "--signature", file + ".sig", "--digest", digest], as: bench.approver)
            #expect(approved.status == 1 && approved.stderr.contains("audit head (row 0)"), "\(approved)")
            let executed = try await bench.calls([["execute_pra_action", ["id": id]]])
            #expect(executed.first?["isError"] as? Bool == true && (executed.first?["text"] as? String ?? "").contains("not approved yet"), "\(executed)")
            #expect(!FileManager.default.fileExists(atPath: bench.state + "/marker-genesis"), "the action ran")
        }
    }
}

import Foundation
import InfraDomain
import InfraTestSupport
import Testing

/// Signed approvals through the real binary, both ways with OpenSSH: a statement printed by
/// `actions statement` and signed by `ssh-keygen -Y sign` is accepted by the server and by the target; a
/// signature made by `actions approve` (key in an ssh-agent of the approver's own account) verifies with
/// `ssh-keygen -Y verify`. Then the audit anchors: cutting the log's tail, or deleting an executed proposal,
/// is caught by `audit verify` and `audit verify --hosts`.
@Suite("Signed approvals: CLI, server and target agree with OpenSSH; audit anchors (real binary, sshd, sudo, ssh-agent)", endToEnd, .serialized)
struct SignedApprovalFlowTests {
    static func markerAction(_ link: String) -> String {
        "test_marker\tLOW\tlabel:string:^[a-z]{1,16}$\t/usr/bin/touch -- \(link)/marker-{label}\t/usr/bin/test -e \(link)/marker-{label}\tyes\tTest only.\n"
    }

    @Test("ssh-keygen signature accepted by server and target; actions approve's signature verified by ssh-keygen; audit verify catches a cut tail and a deleted proposal")
    func interoperabilityAndAnchors() async throws {
        try await ActionBench.with { bench in
            let state = bench.state, approver = bench.approver
            func cli(_ arguments: [String], as user: String? = nil, extra: [String: String] = [:]) async throws -> ProcessRunner.Outcome {
                try await bench.cli(arguments, as: user, extra: extra)
            }
            func calls(_ list: [[Any]]) async throws -> [[String: Any]] { try await bench.calls(list) }
            func proposalID(_ answer: [String: Any]) throws -> String {
                let action = (answer["structured"] as? [String: Any])?["action"] as? [String: Any]
                return try #require(action?["id"] as? String, "\(answer)")
            }

            let proposed = try await calls([
                ["propose_pra_action", ["host": "loopback", "action": "test_marker", "parameters": ["label": "a"], "rationale": "interop: signed by ssh-keygen"]],
                ["propose_pra_action", ["host": "loopback", "action": "test_marker", "parameters": ["label": "b"], "rationale": "interop: signed by actions approve"]],
            ])
            let first = try proposalID(proposed[0]), second = try proposalID(proposed[1])
            let secondDigest = try #require(((proposed[1]["structured"] as? [String: Any])?["action"] as? [String: Any])?["digest"] as? String)

            // 1. ssh-keygen -Y sign → server and target. The statement is printed by the CLI; bob signs it elsewhere.
            let printed = try await cli(["actions", "statement", first, "--principal", "bob@loopback"])
            #expect(printed.status == 0 && printed.stdout.hasPrefix(ApprovalStatement.header + "\nid: \(first)\n"), "\(printed)")
            let statementFile = state + "/first.txt"
            try printed.stdout.write(toFile: statementFile, atomically: true, encoding: .utf8)
            let signed = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-Y", "sign", "-n", ApprovalStatement.namespace,
                                                                             "-f", state + "/approvers/bob", statementFile])
            #expect(signed.status == 0, "\(signed.stderr)")
            for file in [statementFile, statementFile + ".sig"] { try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file) }
            // Signed elsewhere, the statement must name the digest the approver reviewed: --digest is required and compared.
            let firstDigest = try #require(((proposed[0]["structured"] as? [String: Any])?["action"] as? [String: Any])?["digest"] as? String)
            let unbound = try await cli(["actions", "approve", first, "--signature", statementFile + ".sig"], as: approver)
            #expect(unbound.status == 1 && unbound.stderr.contains("give --digest"), "\(unbound)")
            let otherDigest = try await cli(["actions", "approve", first, "--signature", statementFile + ".sig", "--digest", secondDigest], as: approver)
            #expect(otherDigest.status == 1 && otherDigest.stderr.contains("the digest you gave (\(secondDigest)) is not the action's digest"), "\(otherDigest)")
            let approvedFirst = try await cli(["actions", "approve", first, "--signature", statementFile + ".sig", "--digest", firstDigest], as: approver)
            #expect(approvedFirst.status == 0 && approvedFirst.stdout.contains("approved by bob@loopback"), "\(approvedFirst)")

            // 2. actions approve with alice's key in an ssh-agent of the approver's own account → ssh-keygen -Y verify.
            let approvedSecond = try await bench.approve(second, ["--digest", secondDigest])
            #expect(approvedSecond.status == 0 && approvedSecond.stdout.contains("approved by alice@loopback"), "\(approvedSecond)")
            let stored = try await ProcessRunner.run("/usr/bin/python3", ["-c", """
                import json, sqlite3, sys
                row = sqlite3.connect(sys.argv[1]).execute("SELECT statement, signature FROM decision WHERE proposal_id = ?", (sys.argv[2],)).fetchone()
                print(json.dumps(row))
                """, state + "/state/state.sqlite3", second])
            let pair = try #require(try JSONSerialization.jsonObject(with: Data(stored.stdout.utf8)) as? [String], "\(stored)")
            try pair[0].write(toFile: state + "/second.txt", atomically: true, encoding: .utf8)
            try pair[1].write(toFile: state + "/second.txt.sig", atomically: true, encoding: .utf8)
            let verified = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-Y", "verify", "-f", state + "/prefix/etc/mcp-linux-infra/allowed_signers",
                                                                               "-I", "alice@loopback", "-n", ApprovalStatement.namespace,
                                                                               "-s", state + "/second.txt.sig"],
                                                       input: Data(pair[0].utf8))
            #expect(verified.status == 0 && verified.stdout.contains("Good \"\(ApprovalStatement.namespace)\" signature for alice@loopback"), "\(verified)")

            // 3. Both run once on the target, whose root side verified each signature itself.
            let executed = try await calls([["execute_pra_action", ["id": first]], ["execute_pra_action", ["id": second]]])
            for answer in executed {
                let action = (answer["structured"] as? [String: Any])?["action"] as? [String: Any]
                #expect(action?["state"] as? String == "COMPLETED", "\(answer)")
            }
            let audit = (try? String(contentsOfFile: state + "/audit.log", encoding: .utf8)) ?? ""
            #expect(audit.contains("id=\(first) action=test_marker impact=LOW approvers=bob@loopback"), "\(audit.suffix(1500))")
            #expect(audit.contains("id=\(second) action=test_marker impact=LOW approvers=alice@loopback"), "\(audit.suffix(1500))")

            // 4. The log verifies, with both signed approvals and both ledger entries on the host.
            let intact = try await cli(["audit", "verify"])
            #expect(intact.status == 0 && intact.stdout.contains("2 signed approval(s) verified"), "\(intact)")
            let hosts = try await cli(["audit", "verify", "--hosts"])
            #expect(hosts.status == 0 && hosts.stdout.contains("2 ledger entries"), "\(hosts)")

            // 5. The tail cut from the newest approval's audit head on (delete trigger dropped and put back): named.
            let database = state + "/state/state.sqlite3"
            let anchor = try #require(Int(pair[0].split(separator: "\n").first { $0.hasPrefix("audit-head: ") }?.split(separator: " ")[1] ?? ""))
            let cut = state + "/cut.sqlite3"
            try await Self.copyDatabase(database, to: cut)
            try await Self.sql(cut, ["DELETE FROM audit WHERE seq >= \(anchor)"])
            let truncated = try await cli(["audit", "verify"], extra: ["LINUX_MCP_DB": cut])
            #expect(truncated.status == 1 && truncated.stdout.contains("anchored row \(anchor) is missing"), "\(truncated)")

            // 6. The second proposal deleted with its decisions and audit rows: the host's ledger still names it.
            let deleted = state + "/deleted.sqlite3"
            try await Self.copyDatabase(database, to: deleted)
            try await Self.sql(deleted, ["DELETE FROM audit WHERE proposal_id = '\(second)'", "DELETE FROM transition WHERE proposal_id = '\(second)'",
                                         "DELETE FROM decision WHERE proposal_id = '\(second)'", "DELETE FROM execution WHERE proposal_id = '\(second)'",
                                         "DELETE FROM proposal WHERE id = '\(second)'"])
            let missing = try await cli(["audit", "verify", "--hosts"], extra: ["LINUX_MCP_DB": deleted])
            #expect(missing.status == 1 && missing.stdout.contains("host loopback, ledger entry \(second): ran on the host, but the store has no such proposal"), "\(missing)")
        }
    }

    /// Copies a database in WAL mode with SQLite's backup API (a file copy would miss what the WAL holds).
    static func copyDatabase(_ source: String, to destination: String) async throws {
        let run = try await ProcessRunner.run("/usr/bin/python3", ["-c", "import sqlite3, sys\nsqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))",
                                                                   source, destination])
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// Runs statements on a copy of the database as its owner could: the append-only triggers dropped first
    /// and put back after.
    static func sql(_ path: String, _ statements: [String]) async throws {
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            triggers = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            for name in names: db.execute("DROP TRIGGER " + name)
            for statement in sys.argv[2:]: db.execute(statement)
            for (sql,) in triggers: db.execute(sql)
            db.commit()
            """
        let run = try await ProcessRunner.run("/usr/bin/python3", ["-c", script, path] + statements)
        #expect(run.status == 0, "\(run.stderr)")
    }
}

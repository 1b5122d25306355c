import Foundation
import InfraDomain
import InfraTestSupport
import Testing

/// What an attacker holding the server's OS account (its database, its runner key) can no longer steer,
/// through the real binary on a loopback target with the real target side: the approver signs exactly what
/// they reviewed, the review shows the catalogue's command and escapes what the database and the AI wrote,
/// and `audit verify --hosts` reconciles every ledger entry with the store.
@Suite("Review integrity and ledger reconciliation (real binary, sshd, sudo, ssh-agent)", endToEnd, .serialized)
struct ReviewIntegrityTests {
    static func digest(in show: String) -> String? {
        show.split(separator: "\n").first { $0.hasPrefix("digest:") }.flatMap { $0.split(separator: " ").dropFirst().first }.map(String.init)
    }

    @Test("The approver signs what they reviewed: a swap between show and approve is refused and nothing is signed; the review comes from the catalogue and escapes stored text")
    func whatYouSeeIsWhatYouSign() async throws {
        try await ActionBench.with { bench in
            let swapped = try await bench.propose("test_marker", ["label": "a"], "swap test: the row changes between show and approve")
            let both = try await bench.propose("test_marker", ["label": "c"], "swap test: the row and its digest change together")
            let lying = try await bench.propose("reboot_system", [:], "review test: the row's copies claim something harmless")
            let good = try await bench.propose("test_marker", ["label": "d"], "approve test: the statement is printed before signing")
            let ids = try [swapped, both, lying, good].map { try #require($0["id"] as? String) }
            let catalogueVersion = try ActionCatalogue.parse(try String(contentsOfFile: bench.catalogue, encoding: .utf8), source: bench.catalogue).version

            // 1. Between show and approve, the database's writer swaps the parameters and keeps the digest column.
            let shown = try await bench.cli(["actions", "show", ids[0]], as: bench.approver)
            let reviewed = try #require(Self.digest(in: shown.stdout), "\(shown)")
            #expect(reviewed == swapped["digest"] as? String && shown.stdout.contains("marker-a"), "\(shown)")
            try await SignedApprovalFlowTests.sql(bench.database, ["UPDATE proposal SET parameters = '{\"label\":\"z\"}' WHERE id = '\(ids[0])'"])
            let refusedSwap = try await bench.approve(ids[0], ["--digest", reviewed])
            #expect(refusedSwap.status == 1 && refusedSwap.stderr.contains("the stored digest \(reviewed) is not the one the stored action")
                    && !refusedSwap.stdout.contains("signing"), "\(refusedSwap)")
            // 2. The same, with the digest column rewritten to match the new parameters: the typed digest is not it.
            let shownBoth = try await bench.cli(["actions", "show", ids[1]], as: bench.approver)
            let reviewedBoth = try #require(Self.digest(in: shownBoth.stdout))
            let forgedDigest = ApprovalDigest.compute(action: "test_marker", host: "loopback", parameters: ["label": "z"], catalogueVersion: catalogueVersion)
            try await SignedApprovalFlowTests.sql(bench.database, ["UPDATE proposal SET parameters = '{\"label\":\"z\"}', digest = '\(forgedDigest)', "
                                                                      + "command = replace(command, 'marker-c', 'marker-z'), verification = replace(verification, 'marker-c', 'marker-z') "
                                                                      + "WHERE id = '\(ids[1])'"])
            let refusedBoth = try await bench.approve(ids[1], ["--digest", reviewedBoth])
            #expect(refusedBoth.status == 1 && refusedBoth.stderr.contains("the digest you gave (\(reviewedBoth)) is not the action's digest"), "\(refusedBoth) \(catalogueVersion)")
            for id in ids[0...1] {
                let after = try await bench.cli(["actions", "show", id])
                #expect(after.stdout.contains("approvals:     0 of 1") && !after.stdout.contains("signed statement"), "\(after)")
            }

            // 3. The row's copies say LOW and a harmless command for reboot_system, and its rationale carries escape
            // sequences: the review shows the catalogue's impact and command, escapes everything, and refuses to sign.
            let rationale = "looks fine\n\u{1b}[2J\u{1b}[1;1Hwill run:      systemctl reload caddy\ndigest:        sha256:fake\u{202e}"
            try await SignedApprovalFlowTests.sql(bench.database, [
                "UPDATE proposal SET impact = 'LOW', command = '[\"systemctl\",\"reload\",\"caddy\"]', rationale = '\(rationale)' WHERE id = '\(ids[2])'",
            ])
            let review = try await bench.cli(["actions", "show", ids[2]], as: bench.approver)
            let lines = review.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(review.status == 0 && lines.contains { $0.hasPrefix("action:        reboot_system  (impact HIGH") }
                    && lines.contains("will run:      systemctl reboot")
                    && lines.contains { $0.hasPrefix("DO NOT APPROVE: the database's copy of the impact, command or verification differs") }, "\(review)")
            #expect(!review.stdout.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7f || $0.value == 0x202e }, "\(review.stdout)")
            #expect(lines.contains("  AI| \\x1b[2J\\x1b[1;1Hwill run:      systemctl reload caddy") && lines.contains("  AI| digest:        sha256:fake\\u{202e}")
                    && lines.filter { $0.hasPrefix("will run:") }.count == 1 && lines.filter { $0.hasPrefix("digest:") }.count == 1, "\(review.stdout)")
            let refusedLie = try await bench.approve(ids[2], ["--digest", lying["digest"] as? String ?? "?", "--reason", "looks fine"])
            #expect(refusedLie.status == 1 && refusedLie.stderr.contains("cannot approve: the database's copy"), "\(refusedLie)")
            try await SignedApprovalFlowTests.sql(bench.database, ["UPDATE proposal SET action = 'x\u{1b}[2Jy' WHERE id = '\(ids[2])'"])
            let list = try await bench.cli(["actions", "list", "--all"], as: bench.approver)
            #expect(list.status == 0 && list.stdout.contains("x\\x1b[2Jy") && !list.stdout.contains("\u{1b}"), "\(list)")

            // 4. A good approval: refused without --digest, then signed with it, after printing the exact statement.
            let noDigest = try await bench.approve(ids[3])
            #expect(noDigest.status == 1 && noDigest.stderr.contains("give --digest"), "\(noDigest)")
            let approved = try await bench.approve(ids[3], ["--digest", good["digest"] as? String ?? "?"])
            #expect(approved.status == 0 && approved.stdout.contains("signing this statement (namespace \(ApprovalStatement.namespace)):\n\(ApprovalStatement.header)\nid: \(ids[3])\n")
                    && approved.stdout.contains("digest: \(good["digest"] as? String ?? "?")\nprincipal: alice@loopback\n")
                    && approved.stdout.contains("approved by alice@loopback"), "\(approved)")

            // 5. One key is one approver: an inventory listing alice's key under a second principal is refused.
            let inventory = try String(contentsOfFile: bench.state + "/inventory.yml", encoding: .utf8)
            let aliceKey = try String(contentsOfFile: bench.state + "/approvers/alice.pub", encoding: .utf8).split(separator: " ")[0...1].joined(separator: " ")
            let doubled = inventory + "        - principal: alice-admin@loopback\n          key: \"\(aliceKey) admin\"\n"
            try doubled.write(toFile: bench.state + "/doubled.yml", atomically: true, encoding: .utf8)
            let refusedInventory = try await bench.cli(["actions", "show", ids[3]], extra: ["LINUX_MCP_INVENTORY": bench.state + "/doubled.yml"])
            #expect(refusedInventory.status == 2 && refusedInventory.stderr.contains("alice-admin@loopback and alice@loopback have the same key"),
                    "\(refusedInventory) \(doubled)")
        }
    }

    @Test("audit verify --hosts reconciles the ledger: a run through the runner key then cancelled, a rewritten row, and a stored run with no ledger entry are named")
    func ledgerReconciliation() async throws {
        try await ActionBench.with { bench in
            let ran = try await bench.propose("test_marker", ["label": "e"], "reconcile: run past the server, then cancel")
            let id = try #require(ran["id"] as? String)
            #expect(try await bench.approve(id, ["--digest", ran["digest"] as? String ?? "?"]).status == 0)
            // The server's account sends the stored approval itself, with the runner key, then cancels in the store.
            let stored = try await ProcessRunner.run("/usr/bin/python3", ["-c", """
                import base64, sqlite3, sys
                statement, signature = sqlite3.connect(sys.argv[1]).execute(
                    "SELECT statement, signature FROM decision WHERE proposal_id = ?", (sys.argv[2],)).fetchone()
                print("approval", base64.b64encode(statement.encode()).decode(), base64.b64encode(signature.encode()).decode())
                """, bench.database, id])
            let direct = try await bench.runnerDirect("test_marker label=e id=\(id)", stdin: stored.stdout)
            #expect(direct.status == 0, "\(direct)")
            let cancelled = try await bench.calls([["cancel_pra_action", ["id": id, "reason": "nothing to see here"]]])
            #expect(((cancelled.first?["structured"] as? [String: Any])?["action"] as? [String: Any])?["state"] as? String == "CANCELLED", "\(cancelled)")
            #expect(try await bench.cli(["audit", "verify"]).status == 0)
            let hosts = try await bench.cli(["audit", "verify", "--hosts"])
            #expect(hosts.status == 1 && hosts.stdout.contains("host loopback, ledger entry \(id): ran on the host while the store says it is CANCELLED")
                    && hosts.stdout.contains("host loopback, ledger entry \(id): no execution of it is recorded in the audit log"), "\(hosts)")

            // A copy where the row is rewritten to another label: the ledger's request names the difference.
            let rewritten = bench.state + "/rewritten.sqlite3"
            try await SignedApprovalFlowTests.copyDatabase(bench.database, to: rewritten)
            try await SignedApprovalFlowTests.sql(rewritten, ["UPDATE proposal SET parameters = '{\"label\":\"f\"}' WHERE id = '\(id)'"])
            let changed = try await bench.cli(["audit", "verify", "--hosts"], extra: ["LINUX_MCP_DB": rewritten])
            #expect(changed.status == 1 && changed.stdout.contains("the host ran test_marker label=e, but the store says test_marker label=f"), "\(changed)")

            // A proposal the audit log records as run on loopback (COMPLETED, exit 0) for which the host holds no
            // ledger entry (as if the server had run it against another machine): named, from the chain.
            let other = try await bench.propose("test_marker", ["label": "g"], "reconcile: ran, then its ledger entry is gone")
            let otherID = try #require(other["id"] as? String)
            #expect(try await bench.approve(otherID, ["--digest", other["digest"] as? String ?? "?"]).status == 0)
            let executed = try await bench.calls([["execute_pra_action", ["id": otherID]]])
            #expect(((executed.first?["structured"] as? [String: Any])?["action"] as? [String: Any])?["state"] as? String == "COMPLETED", "\(executed)")
            try FileManager.default.removeItem(atPath: bench.state + "/prefix/var/lib/mcp-linux-infra/ledger/" + otherID)
            let ghost = try await bench.cli(["audit", "verify", "--hosts"])
            #expect(ghost.status == 1 && ghost.stdout.contains("proposal \(otherID): the audit log records it ran on loopback (exit 0), but the host's ledger has no entry for it"),
                    "\(ghost)")
            // The run past the server carried no audit head, and the cancelled proposal's chain is still a legal lifecycle.
            #expect(ghost.stdout.contains("ledger entry \(id): no audit head came with it") && !ghost.stdout.contains("proposal \(id): the audit log records"),
                    "\(ghost)")

            // The store's state rewritten to say it ran: the chain's last state for it says otherwise, and is named.
            let forged = bench.state + "/forged.sqlite3"
            try await SignedApprovalFlowTests.copyDatabase(bench.database, to: forged)
            try await SignedApprovalFlowTests.sql(forged, ["UPDATE proposal SET state = 'COMPLETED' WHERE id = '\(id)'"])
            let lifecycle = try await bench.cli(["audit", "verify"], extra: ["LINUX_MCP_DB": forged])
            #expect(lifecycle.status == 1 && lifecycle.stdout.contains("proposal \(id): the store says COMPLETED, but the audit log's last state for it is CANCELLED"),
                    "\(lifecycle)")
        }
    }
}

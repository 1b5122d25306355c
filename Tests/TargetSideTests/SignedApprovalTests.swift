import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

/// pra-run, as root, runs nothing without signed approvals that name exactly this request on this host.
/// Each refusal has its own exit code and one audit line with the reason, and nothing runs (no marker file).
/// Signatures are made by OpenSSH's `ssh-keygen -Y sign` and checked by the target with `ssh-keygen -Y verify`.
@Suite("Signed approvals enforced by the target's root side (real sshd, sudo, ssh-keygen)", requiresRoot)
struct SignedApprovalTests {
    /// Test-only actions: LOW ones with no, one and two parameters, and one HIGH (which needs two distinct
    /// approver keys), each creating a marker as root.
    static func extraCatalogue(_ link: String) -> String {
        "test_marker\tLOW\tlabel:string:^[a-z]{1,16}$\t/usr/bin/touch -- \(link)/marker-{label}\t/usr/bin/test -e \(link)/marker-{label}\tyes\tTest only.\n"
            + "test_high\tHIGH\t-\t/usr/bin/touch -- \(link)/marker-high\t/usr/bin/test -e \(link)/marker-high\tyes\tTest only (HIGH).\n"
            + "test_plain\tLOW\t-\t/usr/bin/touch -- \(link)/marker-plain\t/usr/bin/test -e \(link)/marker-plain\tyes\tTest only (no parameter).\n"
            + "test_pair\tLOW\tx1:string:^[a-z0-9.@:/_-]{1,32}$;x:string:^[a-z]{1,16}$\t/usr/bin/touch -- \(link)/marker-{x}\t"
            + "/usr/bin/test -e \(link)/marker-{x}\tyes\tTest only (two parameters).\n"
    }

    func withTarget(_ extraArguments: [String] = [], _ body: (SystemTarget) async throws -> Void) async throws {
        let link = "/run/mcp-infra-tests/signed-\(UUID().uuidString.prefix(8))"
        try await SystemTarget.with(extraCatalogue: Self.extraCatalogue(link), extraArguments: extraArguments) { t in
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: t.state)
            defer { try? FileManager.default.removeItem(atPath: link) }
            try await body(t)
        }
    }

    /// Expects `request` with `approvals` to be refused with `code`, a journal line naming `reason`, and no marker.
    func expectRefused(_ t: SystemTarget, _ request: String, _ approvals: [SignedApproval], code: Int32, reason: String,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let before = t.auditLines().count
        let result = try await t.act(request, approvals: approvals)
        #expect(result.exitCode == code, "\(request): exit \(String(describing: result.exitCode)) \(result.stderrText)", sourceLocation: sourceLocation)
        #expect(result.stderrText.contains(reason), "\(result.stderrText)", sourceLocation: sourceLocation)
        // The scripts log the reason as bash's %q does: a backslash before each space, comma or quote.
        let logged = reason.map { "_./:@=+-%".contains($0) || $0.isLetter || $0.isNumber ? String($0) : "\\" + String($0) }.joined()
        // pra-exec's line and pra-run's refusal arrive as separate datagrams: wait for the refusal itself (5 s at most).
        var lines = t.auditLines()
        for _ in 0..<250 where !lines.dropFirst(before).contains(where: { $0.contains("refused") && $0.contains(logged) }) {
            try await Task.sleep(for: .milliseconds(20))
            lines = t.auditLines()
        }
        #expect(lines.dropFirst(before).contains { $0.contains("refused") && $0.contains(logged) },
                "no audit line with \(logged): \(lines.dropFirst(before))", sourceLocation: sourceLocation)
        #expect(!lines.dropFirst(before).contains { $0.contains("pra-run: start") }, sourceLocation: sourceLocation)
        let markers = ((try? FileManager.default.contentsOfDirectory(atPath: t.state)) ?? []).filter { $0.hasPrefix("marker-") }
        #expect(markers.isEmpty, "something ran: \(markers)", sourceLocation: sourceLocation)
    }

    @Test("The runner key alone runs nothing: no approval, or a malformed one, is refused")
    func unsignedRefused() async throws {
        try await withTarget { t in
            try await expectRefused(t, "test_marker label=a id=0001-aaaa", [], code: 80, reason: "no signed approval")
            try await expectRefused(t, "test_marker label=a", [], code: 66, reason: "id=PROPOSAL-ID is required")
            let garbage = SignedApproval(statement: "not a statement\n", signature: "not a signature\n")
            try await expectRefused(t, "test_marker label=a id=0001-aaaa", [garbage], code: 81, reason: "statement header")
            // Straight to sudo as the runner (as if pra-exec were bypassed): pra-run refuses the same way.
            let direct = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", t.target.runnerUser, "--", "/bin/sh", "-c",
                                                                           "printf 'id=0001-aaaa\\nlabel=a\\n' | sudo -n \(t.lib)/pra-run test_marker"])
            #expect(direct.status == 80 && direct.stderr.contains("no signed approval"), "\(direct)")
        }
    }

    @Test("A valid signature runs once; replayed for a second run it is refused by the ledger, and the reader lists the entry")
    func replayRefused() async throws {
        try await withTarget { t in
            let signed = try await t.sign(try t.statement(id: "0002-aaaa", action: "test_marker", parameters: ["label": "a"]))
            let first = try await t.act("test_marker label=a id=0002-aaaa", approvals: [signed])
            #expect(first.exitCode == 0, "\(first.stderrText)")
            try FileManager.default.removeItem(atPath: t.state + "/marker-a")
            try await expectRefused(t, "test_marker label=a id=0002-aaaa", [signed], code: 88, reason: "already ran on this host")
            // The ledger: root-owned, and listed by the reader's `ledger` verb with the statement and signature.
            let ledger = t.state + "/prefix/var/lib/mcp-linux-infra/ledger/0002-aaaa"
            let attributes = try FileManager.default.attributesOfItem(atPath: ledger)
            #expect(attributes[.ownerAccountID] as? Int == 0 && (attributes[.posixPermissions] as? Int ?? 0) & 0o022 == 0)
            let listed = try await t.read("ledger")
            #expect(listed.exitCode == 0, "\(listed.stderrText)")
            let lines = listed.stdoutText.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("entry 0002-aaaa ran=") == true && lines.first?.contains("approvers=alice@loopback") == true, "\(lines)")
            let statement = lines.first { $0.hasPrefix("statement 1 ") }.map { String($0.dropFirst(12)) } ?? ""
            let signature = lines.first { $0.hasPrefix("signature 1 ") }.map { String($0.dropFirst(12)) } ?? ""
            #expect(SignedApproval.parse(statementBase64: statement, signatureBase64: signature) == signed)
        }
    }

    @Test("A valid signature for another host, host key, action, parameters, proposal or catalogue is refused")
    func otherRequestRefused() async throws {
        try await withTarget { t in
            let base = try t.statement(id: "0003-aaaa", action: "test_marker", parameters: ["label": "a"])
            let request = "test_marker label=a id=0003-aaaa"
            var other = base
            other.host = "web2"
            try await expectRefused(t, request, [try await t.sign(other)], code: 84, reason: "signed for host web2")
            other = base
            other.hostKeyFingerprint = try TestApprovals.fingerprint(ofPublicKeyFile: t.approverKey("bob") + ".pub")
            try await expectRefused(t, request, [try await t.sign(other)], code: 84, reason: "not one of this host's")
            other = base
            other.action = "test_high"
            other.parameters = [:]
            try await expectRefused(t, request, [try await t.sign(other)], code: 83, reason: "signed for action test_high")
            other = base
            other.parameters = ["label": "b"]
            try await expectRefused(t, request, [try await t.sign(other)], code: 83, reason: "signed for other parameters")
            other = base
            other.proposalID = "0003-bbbb"
            try await expectRefused(t, request, [try await t.sign(other)], code: 83, reason: "signed for proposal 0003-bbbb")
            other = base
            other.catalogueVersion = "sha256:" + String(repeating: "e", count: 64)
            try await expectRefused(t, request, [try await t.sign(other)], code: 85, reason: "signed for catalogue")
            // The ECDSA host key is this host's too: a statement naming it is accepted.
            other = base
            other.hostKeyFingerprint = try TestApprovals.fingerprint(ofPublicKeyFile: t.state + "/hostkeys/ssh_host_ecdsa_key.pub")
            #expect(try await t.act(request, approvals: [try await t.sign(other)]).exitCode == 0)
        }
    }

    @Test("Expired, not yet valid and over-long windows are refused")
    func windowRefused() async throws {
        try await withTarget { t in
            let request = "test_marker label=a id=0004-aaaa"
            let expired = try t.statement(id: "0004-aaaa", action: "test_marker", parameters: ["label": "a"], from: -900, until: -300)
            try await expectRefused(t, request, [try await t.sign(expired)], code: 86, reason: "expired at")
            let future = try t.statement(id: "0004-aaaa", action: "test_marker", parameters: ["label": "a"], from: 900, until: 1800)
            try await expectRefused(t, request, [try await t.sign(future)], code: 86, reason: "not valid before")
            let long = try t.statement(id: "0004-aaaa", action: "test_marker", parameters: ["label": "a"], from: -5, until: 200_000)
            try await expectRefused(t, request, [try await t.sign(long)], code: 86, reason: "s longer than this host's maximum 3600 s (mcp_approval_max_window)")
        }
    }

    @Test("A key not in allowed_signers, another namespace, or an altered statement is refused")
    func badSignatureRefused() async throws {
        try await withTarget { t in
            let request = "test_marker label=a id=0005-aaaa"
            let statement = try t.statement(id: "0005-aaaa", action: "test_marker", parameters: ["label": "a"])
            let mallory = try await TestApprovals.makeKey(in: t.state, name: "mallory")
            try await expectRefused(t, request, [try await TestApprovals.sign(statement, keyFile: mallory)], code: 82, reason: "does not verify")
            try await expectRefused(t, request, [try await TestApprovals.sign(statement, keyFile: t.approverKey("alice"), namespace: "file")],
                                    code: 82, reason: "does not verify")
            // alice's key, but the statement claims bob signed it.
            var claimed = statement
            claimed.principal = "bob@loopback"
            try await expectRefused(t, request, [try await t.sign(claimed, by: "alice")], code: 82, reason: "does not verify")
            // Signed, then the window widened after signing.
            var signed = try await t.sign(statement)
            let widened = try t.statement(id: "0005-aaaa", action: "test_marker", parameters: ["label": "a"], from: -5, until: 3000)
            signed.statement = try widened.text()
            try await expectRefused(t, request, [signed], code: 82, reason: "does not verify")
        }
    }

    @Test("HIGH needs two distinct approver keys: the same one twice is refused, alice and bob run it; a stricter host threshold wins")
    func thresholdEnforced() async throws {
        try await withTarget { t in
            let request = "test_high id=0006-aaaa"
            let byAlice = try await t.sign(try t.statement(id: "0006-aaaa", action: "test_high"))
            let again = try await t.sign(try t.statement(id: "0006-aaaa", action: "test_high", from: -10))
            try await expectRefused(t, request, [byAlice], code: 87, reason: "HIGH needs 2 distinct approver keys, got 1")
            try await expectRefused(t, request, [byAlice, again], code: 87, reason: "HIGH needs 2 distinct approver keys, got 1")
            // A host stricter than the server (its approvals file says LOW 2) refuses what the server would count.
            try "LOW 2\nMEDIUM 1\nHIGH 2\n".write(toFile: t.state + "/prefix/etc/mcp-linux-infra/approvals", atomically: true, encoding: .utf8)
            let low = try await t.sign(try t.statement(id: "0006-bbbb", action: "test_marker", parameters: ["label": "a"]))
            try await expectRefused(t, "test_marker label=a id=0006-bbbb", [low], code: 87, reason: "LOW needs 2 distinct approver keys, got 1")
            let byBob = try await t.sign(try t.statement(id: "0006-aaaa", action: "test_high", principal: "bob@loopback"), by: "bob")
            let ran = try await t.act(request, approvals: [byAlice, byBob])
            #expect(ran.exitCode == 0, "\(ran.stderrText)")
            let lines = await t.auditLines(count: 1)
            #expect(lines.contains { $0.contains("pra-run: start") && $0.contains("id=0006-aaaa action=test_high impact=HIGH approvers=alice@loopback,bob@loopback") })
        }
    }
}

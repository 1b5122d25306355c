import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

/// Issue 17 on the target's root side: pra-run recomputes the digest (89), counts approver keys rather than
/// names (87), records what ran and the server's audit head in the ledger (paged by id), and enforces the
/// host's own longest approval window (86).
extension SignedApprovalTests {
    /// The fields of the ledger entry `id` as the reader's `ledger` verb prints them (nil when it is absent).
    func ledgerEntry(_ t: SystemTarget, _ id: String) async throws -> String? {
        let listed = try await t.read("ledger lines=500")
        #expect(listed.exitCode == 0, "\(listed.stderrText)")
        return listed.stdoutText.split(separator: "\n").first { $0.hasPrefix("entry \(id) ") }.map { String($0.dropFirst(7 + id.count)) }
    }

    /// The canonical text and digest that target-common.sh's approval_digest (the function pra-run calls) makes
    /// for a request, run as installed on the target.
    func bashDigest(_ t: SystemTarget, action: String, host: String, catalogue: String, parameters: [String: String]) async throws -> (String, String) {
        let script = #"""
        . "${0%/*}/target-common.sh"
        declare -A given=()
        for pair in "${@:4}"; do given[${pair%%=*}]=${pair#*=}; done
        approval_digest "$1" "$2" "$3"
        printf '%s\n%s' "$REPLY" "$digest_text"
        """#
        let pairs = parameters.map { "\($0.key)=\($0.value)" }
        let outcome = try await ProcessRunner.run("/bin/bash", ["-c", script, t.lib + "/digest-probe", action, host, catalogue] + pairs)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let newline = outcome.stdout.firstIndex(of: "\n") ?? outcome.stdout.endIndex
        return (String(outcome.stdout[..<newline]), String(outcome.stdout[outcome.stdout.index(after: newline)...]))
    }

    @Test("pra-run's digest is ApprovalDigest's, byte for byte, with zero, one and two parameters (the function, and real runs)")
    func digestAgrees() async throws {
        try await withTarget { t in
            let catalogue = try TestApprovals.sha256(ofFile: t.lib + "/pra-catalogue.tsv")
            // Names sorted in C byte order ("x" before "x1"; a sort of NAME=VALUE strings would put x1 first).
            let requests: [(String, [String: String])] = [
                ("test_plain", [:]), ("test_marker", ["label": "a"]), ("test_pair", ["x1": "web-1.example:8080/a@b_c", "x": "pair"]),
            ]
            for (action, parameters) in requests {
                let (digest, text) = try await bashDigest(t, action: action, host: "loopback", catalogue: catalogue, parameters: parameters)
                #expect(Array(text.utf8) == Array(ApprovalDigest.canonical(action: action, host: "loopback", parameters: parameters,
                                                                           catalogueVersion: catalogue).utf8), "\(action): \(text)")
                #expect(digest == ApprovalDigest.compute(action: action, host: "loopback", parameters: parameters, catalogueVersion: catalogue))
            }
            // A host name of more than one byte per character is counted in bytes on both sides.
            let (wide, wideText) = try await bashDigest(t, action: "test_plain", host: "höst", catalogue: catalogue, parameters: [:])
            #expect(wideText == ApprovalDigest.canonical(action: "test_plain", host: "höst", parameters: [:], catalogueVersion: catalogue))
            #expect(wide == ApprovalDigest.compute(action: "test_plain", host: "höst", parameters: [:], catalogueVersion: catalogue))

            // Real runs: each statement carries the server's digest, pra-run accepts it and records its own.
            for (index, (action, parameters)) in requests.enumerated() {
                let id = "0011-000\(index)"
                let ran = try await t.actApproved(action, parameters, id: id)
                #expect(ran.exitCode == 0, "\(action): \(ran.stderrText)")
                let digest = ApprovalDigest.compute(action: action, host: "loopback", parameters: parameters, catalogueVersion: catalogue)
                let entry = try await ledgerEntry(t, id) ?? ""
                #expect(entry.split(separator: " ").contains { $0 == "digest=\(digest)" }, "\(entry)")
            }
            let journal = await t.auditLines(count: 1).joined(separator: "\n")
            #expect(journal.contains("id=0011-0002 action=test_pair impact=LOW approvers=alice@loopback keys=SHA256:"), "\(journal.suffix(800))")
        }
    }

    @Test("A statement signed with everything right but the digest is refused with 89, and nothing runs")
    func digestMismatchRefused() async throws {
        try await withTarget { t in
            var statement = try t.statement(id: "0012-aaaa", action: "test_marker", parameters: ["label": "a"])
            // The digest of another request (what a database writer would leave behind after swapping the row).
            statement.digest = ApprovalDigest.compute(action: "test_marker", host: "loopback", parameters: ["label": "b"],
                                                      catalogueVersion: statement.catalogueVersion)
            try await expectRefused(t, "test_marker label=a id=0012-aaaa", [try await t.sign(statement)], code: 89,
                                    reason: "signed digest \(statement.digest) is not this request's digest")
            statement.digest = "sha256:" + String(repeating: "d", count: 64)
            try await expectRefused(t, "test_marker label=a id=0012-aaaa", [try await t.sign(statement)], code: 89, reason: "signed digest")
            // The ledger did not take the id: the right statement still runs once.
            #expect(try await t.actApproved("test_marker", ["label": "a"], id: "0012-aaaa").exitCode == 0)
        }
    }

    @Test("One key listed under two principals is one approver: a HIGH action signed by it as both is refused (87)")
    func oneKeyOneApprover() async throws {
        try await withTarget(["--alice-also-as", "alice-admin@loopback"]) { t in
            let request = "test_high id=0013-aaaa"
            let asAlice = try await t.sign(try t.statement(id: "0013-aaaa", action: "test_high"))
            let asAdmin = try await t.sign(try t.statement(id: "0013-aaaa", action: "test_high", principal: "alice-admin@loopback"))
            let key = try TestApprovals.fingerprint(ofPublicKeyFile: t.approverKey("alice") + ".pub")
            try await expectRefused(t, request, [asAlice, asAdmin], code: 87,
                                    reason: "HIGH needs 2 distinct approver keys, got 1 (alice-admin@loopback and alice@loopback signed with the same key \(key))")
            // Two keys: alice (under either name) and bob run it, and the ledger names both keys.
            let byBob = try await t.sign(try t.statement(id: "0013-aaaa", action: "test_high", principal: "bob@loopback"), by: "bob")
            let ran = try await t.act(request, approvals: [asAdmin, byBob])
            #expect(ran.exitCode == 0, "\(ran.stderrText)")
            let bob = try TestApprovals.fingerprint(ofPublicKeyFile: t.approverKey("bob") + ".pub")
            let entry = try await ledgerEntry(t, "0013-aaaa") ?? ""
            #expect(entry.contains(" approvers=alice-admin@loopback,bob@loopback keys=\([key, bob].sorted().joined(separator: ",")) "), "\(entry)")
        }
    }

    @Test("The ledger entry records action, parameters, caller, approvers, keys, digest and the audit head sent (or -)")
    func ledgerRecordsWhatRan() async throws {
        try await withTarget { t in
            let head = String(repeating: "0123456789abcdef", count: 4)
            let parameters = ["x1": "web-1.example", "x": "pair"]
            let signed = try await t.sign(try t.statement(id: "0014-aaaa", action: "test_pair", parameters: parameters))
            let ran = try await t.act("test_pair x1=web-1.example x=pair id=0014-aaaa", approvals: [signed], extraStdin: "audit-head 42 \(head)\n")
            #expect(ran.exitCode == 0, "\(ran.stderrText)")
            let digest = ApprovalDigest.compute(action: "test_pair", host: "loopback", parameters: parameters, catalogueVersion: signed.statementCatalogue)
            let alice = try TestApprovals.fingerprint(ofPublicKeyFile: t.approverKey("alice") + ".pub")
            let entry = try #require(try await ledgerEntry(t, "0014-aaaa"))
            let expected = "action=test_pair param.x=pair param.x1=web-1.example caller=\(t.target.runnerUser) approvers=alice@loopback "
                + "keys=\(alice) digest=\(digest) head=42:\(head)"
            #expect(entry.wholeMatch(of: /ran=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (.*)/)?.1 == Substring(expected), "\(entry)")
            // The same as the root-owned file itself.
            let file = try String(contentsOfFile: t.state + "/prefix/var/lib/mcp-linux-infra/ledger/0014-aaaa/entry", encoding: .utf8)
            #expect(file == entry + "\n")
            // No head sent: head=-.
            #expect(try await t.actApproved("test_plain", id: "0014-bbbb").exitCode == 0)
            #expect(try await ledgerEntry(t, "0014-bbbb")?.hasSuffix(" head=-") == true)
        }
    }

    @Test("audit-head lines: one, after the approvals, of the exact form; anything else is refused (81) and nothing runs")
    func auditHeadGrammar() async throws {
        try await withTarget { t in
            let head = String(repeating: "ab", count: 32)
            let signed = try await t.sign(try t.statement(id: "0015-aaaa", action: "test_marker", parameters: ["label": "a"]))
            let request = "test_marker label=a id=0015-aaaa"
            for (extra, reason) in [
                ("audit-head 1 \(head)\naudit-head 2 \(head)\n", "a line after the audit-head line"),
                ("audit-head 1 \(head)\n\(signed.stdinLine)", "a line after the audit-head line"),
                ("audit-head 1 \(head.uppercased())\n", "is not 'audit-head SEQ HEX'"),
                ("audit-head 1 \(head.dropLast())\n", "is not 'audit-head SEQ HEX'"),
                ("audit-head -1 \(head)\n", "is not 'audit-head SEQ HEX'"),
                ("audit-head 01 \(head)\n", "is not 'audit-head SEQ HEX'"),
                ("audit-head 1  \(head)\n", "is not 'audit-head SEQ HEX'"),
                ("audit-head 1 \(head) extra\n", "is not 'audit-head SEQ HEX'"),
                ("audit-head 1 \(head)", "does not end with a newline"),
            ] {
                let before = t.auditLines().count
                let result = try await t.act(request, approvals: [signed], extraStdin: extra)
                #expect(result.exitCode == 81 && result.stderrText.contains(reason), "\(extra.debugDescription): \(String(describing: result.exitCode)) \(result.stderrText)")
                let lines = await t.auditLines(count: before + 1)
                #expect(lines.dropFirst(before).contains { $0.contains("pra-exec: refused") }, "\(lines.dropFirst(before))")
            }
            // pra-run checks again when pra-exec is bypassed: straight to sudo as the runner, with two heads.
            let twice = "id=0015-aaaa\\nlabel=a\\naudit-head 1 \(head)\\naudit-head 2 \(head)\\n"
            let direct = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", t.target.runnerUser, "--", "/bin/sh", "-c",
                                                                           "printf '\(twice)' | sudo -n \(t.lib)/pra-run test_marker"])
            #expect(direct.status == 81 && direct.stderr.contains("more than one audit-head line"), "\(direct)")
            let markers = try FileManager.default.contentsOfDirectory(atPath: t.state).filter { $0.hasPrefix("marker-") }
            #expect(markers.isEmpty, "something ran: \(markers)")
            // The good form runs.
            #expect(try await t.act(request, approvals: [signed], extraStdin: "audit-head 0 \(head)\n").exitCode == 0)
        }
    }

    @Test("ledger pages by id: lines=2 over 3 entries returns each once, in id order; after= is validated")
    func ledgerPaging() async throws {
        try await withTarget { t in
            // Run in an order that is neither the ids' order nor its reverse.
            for id in ["0016-bbbb", "0016-cccc", "0016-aaaa"] {
                #expect(try await t.actApproved("test_plain", id: id).exitCode == 0)
                try? FileManager.default.removeItem(atPath: t.state + "/marker-plain")
            }
            func page(_ request: String) async throws -> [String] {
                let result = try await t.read(request)
                #expect(result.exitCode == 0, "\(request): \(result.stderrText)")
                let lines = result.stdoutText.split(separator: "\n")
                #expect(lines.filter { $0.hasPrefix("statement 1 ") }.count == lines.filter { $0.hasPrefix("entry ") }.count, "\(lines)")
                return lines.filter { $0.hasPrefix("entry ") }.map { String($0.split(separator: " ")[1]) }
            }
            var seen: [String] = [], after: String?
            while true {
                let ids = try await page("ledger lines=2" + (after.map { " after=\($0)" } ?? ""))
                seen += ids
                if ids.count < 2 { break }
                after = ids.last
                #expect(seen.count <= 3, "paging does not end: \(seen)")
                if seen.count > 3 { break }
            }
            #expect(seen == ["0016-aaaa", "0016-bbbb", "0016-cccc"])
            #expect(try await page("ledger") == ["0016-aaaa", "0016-bbbb", "0016-cccc"])
            #expect(try await page("ledger after=0016-a") == ["0016-aaaa", "0016-bbbb", "0016-cccc"])
            #expect(try await page("ledger lines=1 after=0016-aaaa") == ["0016-bbbb"])
            #expect(try await page("ledger after=0016-cccc").isEmpty)
            for bad in ["ledger after=../x", "ledger after=a_b", "ledger lines=501", "ledger lines=0", "ledger since=1"] {
                let refused = try await t.read(bad)
                #expect(refused.exitCode == 64, "\(bad): \(String(describing: refused.exitCode)) \(refused.stderrText)")
            }
        }
    }

    @Test("The host's approval-max-window bounds a statement's window (86): max+1 refused, exactly max runs; missing means 3600, malformed refuses")
    func hostMaximumWindow() async throws {
        try await withTarget(["--approval-max-window", "600"]) { t in
            let long = try t.statement(id: "0017-aaaa", action: "test_plain", from: -5, until: 3595)
            try await expectRefused(t, "test_plain id=0017-aaaa", [try await t.sign(long)], code: 86,
                                    reason: "window 3600 s longer than this host's maximum 600 s (mcp_approval_max_window)")
            let oneTooMany = try t.statement(id: "0017-aaaa", action: "test_plain", from: -5, until: 596)
            try await expectRefused(t, "test_plain id=0017-aaaa", [try await t.sign(oneTooMany)], code: 86,
                                    reason: "window 601 s longer than this host's maximum 600 s")
            let exactly = try t.statement(id: "0017-aaaa", action: "test_plain", from: -5, until: 595)
            let ran = try await t.act("test_plain id=0017-aaaa", approvals: [try await t.sign(exactly)])
            #expect(ran.exitCode == 0, "\(ran.stderrText)")
            try FileManager.default.removeItem(atPath: t.state + "/marker-plain")

            let setting = t.state + "/prefix/etc/mcp-linux-infra/approval-max-window"
            for malformed in ["abc\n", "59\n", "86401\n", "0600\n", "600 s\n", ""] {
                try malformed.write(toFile: setting, atomically: true, encoding: .utf8)
                let statement = try t.statement(id: "0017-bbbb", action: "test_plain", from: -5, until: 100)
                try await expectRefused(t, "test_plain id=0017-bbbb", [try await t.sign(statement)], code: 86,
                                        reason: "approval-max-window on this host is not a number of seconds from 60 to 86400 (redeploy the role)")
            }
            // No file: one hour.
            try FileManager.default.removeItem(atPath: setting)
            let hour = try t.statement(id: "0017-bbbb", action: "test_plain", from: -5, until: 3596)
            try await expectRefused(t, "test_plain id=0017-bbbb", [try await t.sign(hour)], code: 86,
                                    reason: "window 3601 s longer than this host's maximum 3600 s")
            let within = try t.statement(id: "0017-bbbb", action: "test_plain", from: -5, until: 3595)
            #expect(try await t.act("test_plain id=0017-bbbb", approvals: [try await t.sign(within)]).exitCode == 0)
        }
    }
}

extension SignedApproval {
    /// The `catalogue:` line of the statement.
    var statementCatalogue: String {
        statement.split(separator: "\n").first { $0.hasPrefix("catalogue: ") }.map { String($0.dropFirst(11)) } ?? ""
    }
}

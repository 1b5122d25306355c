import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

@Suite("pra-exec, pra-run and sudo (real sshd, real accounts, real sudo)", requiresRoot)
struct ApprovedActionTests {
    /// A harmless test-only action appended to the catalogue of the test target (never shipped).
    static let markerAction = "test_marker\tLOW\tlabel:string:^[a-z]{1,16}$\t/usr/bin/touch -- STATE/marker-{label}\t/usr/bin/test -e STATE/marker-{label}\tyes\tTest only: create a marker file as root.\n"

    func withMarkerTarget(_ body: (SystemTarget) async throws -> Void) async throws {
        // The state directory is only known once the target exists, so the action names it by a fixed link.
        let link = "/run/mcp-infra-tests/marker-\(UUID().uuidString.prefix(8))"
        let extra = Self.markerAction.replacingOccurrences(of: "STATE", with: link)
        try await SystemTarget.with(extraCatalogue: extra) { t in
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: t.state)
            defer { try? FileManager.default.removeItem(atPath: link) }
            try await body(t)
        }
    }

    @Test("A catalogue action runs through sudo as root, is verified, and is logged with its correlation id")
    func actionRunsThroughSudo() async throws {
        try await withMarkerTarget { t in
            let result = try await t.actApproved("test_marker", ["label": "alpha"], id: "0042-aaaa")
            #expect(result.exitCode == 0, "\(result.stderrText)")
            #expect(result.stdoutText == "pra-run: test_marker done (verified: yes)\n")
            let attributes = try FileManager.default.attributesOfItem(atPath: t.state + "/marker-alpha")
            #expect(attributes[.ownerAccountID] as? Int == 0)
            let lines = await t.auditLines(count: 3)
            #expect(lines.contains { $0.contains("pra-exec: accepted user=\(t.target.runnerUser)") && $0.contains("action=test_marker id=0042-aaaa approvals=1") })
            #expect(lines.contains {
                $0.contains("pra-run: start caller=\(t.target.runnerUser) id=0042-aaaa action=test_marker impact=LOW approvers=alice@loopback")
            })
            #expect(lines.contains { $0.contains("pra-run: done caller=\(t.target.runnerUser) id=0042-aaaa action=test_marker verified=yes") })
        }
    }

    @Test("pra-exec refuses unknown actions, bad or extra parameters and injection, before sudo")
    func praExecRefuses() async throws {
        try await withMarkerTarget { t in
            let cases: [(String, Int32)] = [
                ("format_disk", 65), ("restart_unbound extra=1", 66), ("test_marker", 66),
                ("test_marker label=UPPER", 66), ("test_marker label=a label=b", 66), ("test_marker label=a other=b", 66),
                ("restart_container name=-rf", 66), ("restart_container name=../x", 66),
                ("restart_service unit=evil.service", 66), ("restart_service unit=--host=x.service", 66),
                ("test_marker label=a id=x;id", 64), ("restart_unbound; id", 64), ("restart_unbound && reboot", 64),
                ("restart_unbound $(id)", 64), ("restart_unbound\nreboot_system", 64), ("RESTART_UNBOUND", 64),
                ("", 64), ("test_marker label=a id=\(String(repeating: "x", count: 65))", 66), ("sudo -n /bin/sh", 65),
            ]
            let before = t.auditLines().count
            for (request, code) in cases {
                let result = try await t.act(request)
                #expect(result.exitCode == code, "\(request.debugDescription): \(String(describing: result.exitCode)) \(result.stderrText)")
                #expect(result.stdout.isEmpty)
            }
            let lines = await t.auditLines(count: before + cases.count)
            #expect(lines.dropFirst(before).allSatisfy { $0.contains("pra-exec: refused") })
            #expect(!lines.contains { $0.contains("pra-run:") })   // sudo was never reached
            #expect(!FileManager.default.fileExists(atPath: t.state + "/marker-a"))
        }
    }

    @Test("sudo lets the runner run pra-run with exactly one catalogue action, and nothing else")
    func sudoIsRestricted() async throws {
        try await withMarkerTarget { t in
            let runner = t.target.runnerUser
            func sudo(_ arguments: [String]) async throws -> ProcessRunner.Outcome {
                try await ProcessRunner.run("/usr/sbin/runuser", ["-u", runner, "--", "/usr/bin/sudo", "-n"] + arguments)
            }
            #expect(try await sudo(["/bin/sh", "-c", "id"]).status != 0)
            #expect(try await sudo(["/usr/bin/id"]).status != 0)
            #expect(try await sudo([t.lib + "/pra-run", "test_marker", "extra"]).status != 0)
            #expect(try await sudo([t.lib + "/pra-run"]).status != 0)
            #expect(try await sudo(["-u", t.target.readerUser, t.lib + "/pra-run", "test_marker"]).status != 0)
            let listing = try await sudo(["-l"])
            // sudo -l wraps long lines: rejoin, then split on the entries.
            let flat = listing.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let allowed = flat.components(separatedBy: "(root) NOPASSWD: ").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
            let catalogue = try ActionCatalogue.parse(try String(contentsOfFile: t.lib + "/pra-catalogue.tsv", encoding: .utf8), source: "catalogue")
            #expect(allowed == catalogue.actions.map { "\(t.lib)/pra-run \($0.name)" })
        }
    }

    @Test("A deliberately invalid sudoers file is refused by visudo and never installed")
    func invalidSudoersRefused() async throws {
        let candidate = FileManager.default.temporaryDirectory.appendingPathComponent("sudoers-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: candidate) }
        try "pra-runner ALL=(root) NOPASSWD /usr/local/lib/mcp-linux-infra/pra-run restart_unbound\n"
            .write(toFile: candidate, atomically: true, encoding: .utf8)
        let checked = try await ProcessRunner.run("/usr/sbin/visudo", ["-cf", candidate])
        #expect(checked.status != 0)
        // The install step (loopback target now, Ansible's validate: later) installs only after visudo passes.
        let installed = (try? FileManager.default.contentsOfDirectory(atPath: "/etc/sudoers.d")) ?? []
        #expect(!installed.contains { candidate.hasSuffix($0) })
    }
}

@Suite("The action catalogue is one source of truth")
struct CatalogueAgreementTests {
    static var catalogueText: String {
        get throws { try String(contentsOfFile: LoopbackTarget.repositoryRoot + "/system/pra-catalogue.tsv", encoding: .utf8) }
    }

    @Test("The server's catalogue has the seed actions with their impacts and parameters")
    func serverCatalogue() throws {
        let catalogue = try ActionCatalogue.parse(try Self.catalogueText, source: "pra-catalogue.tsv")
        #expect(catalogue.actions.map(\.name) == ["restart_unbound", "reload_caddy", "flush_dns_cache", "rotate_logs",
                                                  "restart_caddy", "restart_container", "restart_service", "reboot_system"])
        #expect(catalogue.action(named: "reboot_system")?.impact == .high)
        #expect(catalogue.action(named: "restart_caddy")?.impact == .medium)
        #expect(catalogue.action(named: "restart_container")?.parameters.map(\.name) == ["name"])
        #expect(catalogue.action(named: "restart_service")?.parameters.first?.kind == .allowedService)
        #expect(catalogue.action(named: "reboot_system")?.verify == [])
    }

    @Test("render-sudoers derives exactly one exact line per catalogue action, which visudo accepts")
    func sudoersAgrees() async throws {
        let catalogue = try ActionCatalogue.parse(try Self.catalogueText, source: "pra-catalogue.tsv")
        let script = LoopbackTarget.repositoryRoot + "/system/render-sudoers"
        let rendered = try await ProcessRunner.run("/bin/bash", [script, "pra-runner", "/usr/local/lib/mcp-linux-infra/pra-run"])
        #expect(rendered.status == 0)
        let rules = rendered.stdout.split(separator: "\n").filter { $0.hasPrefix("pra-runner ALL=") }.map(String.init)
        #expect(rules == catalogue.actions.map { "pra-runner ALL=(root) NOPASSWD: /usr/local/lib/mcp-linux-infra/pra-run \($0.name)" })
        #expect(!rendered.stdout.contains("*"))
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/visudo") {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("sudoers-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            try rendered.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try await ProcessRunner.run("/usr/sbin/visudo", ["-cf", file]).status == 0)
        }
    }

    @Test("pra-exec on a target knows exactly the catalogue's actions", requiresRoot)
    func praExecAgrees() async throws {
        let catalogue = try ActionCatalogue.parse(try Self.catalogueText, source: "pra-catalogue.tsv")
        try await SystemTarget.with { t in
            for action in catalogue.actions {
                // An unknown parameter stops pra-exec after the lookup and before sudo: 66 means it knows the action.
                let result = try await t.act("\(action.name) zz=1")
                #expect(result.exitCode == 66, "\(action.name): \(result.stderrText)")
                #expect(result.stderrText.contains("unknown parameter zz") || result.stderrText.contains("missing parameter"))
            }
            #expect(try await t.act("not_in_catalogue").exitCode == 65)
        }
    }
}

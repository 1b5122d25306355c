import Foundation
import InfraTestSupport
import Testing

/// The approved-action workflow on a real target deployed by the role: the official MCP Python client proposes
/// and executes, humans (two real OS accounts) review and approve with the CLI, the target's journal shows
/// what ran. Tests/mcp/pra_workflow.py drives it; this test prepares the accounts and asserts.
@Suite("End to end: propose, approve as a human, execute once, verify, audit", endToEnd, .serialized)
struct ApprovedActionWorkflowTests {
    static let group = "mcpt-appr", alice = "mcpt-alice", bob = "mcpt-bob"

    @Test("Workflow, refusals, M-of-N, 20 concurrent executes over two servers, kill -9 mid-run, audit verify")
    func workflow() async throws {
        try requirePrerequisites()
        try #require(FileManager.default.isExecutableFile(atPath: MCPServerTests.python), "no MCP client venv: run scripts/install-deps.sh")
        try await NspawnTarget.with(indexes: [27]) { targets in
            let target = targets[0]
            try await DeploymentWorkspace.with(targets: targets) { workspace in
                let deploy = try await workspace.playbook("deploy-mcp-infra.yml")
                try #require(deploy.status == 0, "\(deploy)")
                try await Self.withApprovers {
                    // The state folder is shared with the approvers' group; the database file too, once created.
                    let state = workspace.directory + "/state"
                    for command in [["mkdir", "-p", state], ["chgrp", Self.group, state], ["chmod", "2770", state],
                                    ["chmod", "o+x", workspace.directory, (workspace.directory as NSString).deletingLastPathComponent],
                                    ["chmod", "0644", workspace.envFile],
                                    // The approvers read the inventory and the pinned host keys (never the account keys, mode 600).
                                    ["chmod", "0711", workspace.keys], ["chmod", "0644", workspace.keys + "/known_hosts"]] {
                        #expect(try await ProcessRunner.run("/usr/bin/env", command).status == 0, "\(command)")
                    }
                    #expect(try await ProcessRunner.run(productBinary(), ["actions", "list", "--env-file", workspace.envFile]).status == 0)
                    for command in [["chgrp", Self.group, state + "/state.sqlite3"], ["chmod", "0660", state + "/state.sqlite3"]] {
                        #expect(try await ProcessRunner.run("/usr/bin/env", command).status == 0, "\(command)")
                    }
                    // The second server of the digest test reads a catalogue that differs by one description.
                    let catalogue = try String(contentsOfFile: LoopbackTarget.repositoryRoot + "/system/pra-catalogue.tsv", encoding: .utf8)
                    let other = workspace.directory + "/other-catalogue.tsv"
                    try catalogue.replacingOccurrences(of: "Restart the unbound DNS resolver.", with: "Restart unbound.")
                        .write(toFile: other, atomically: true, encoding: .utf8)
                    // unbound is stopped: the problem the AI diagnoses.
                    #expect(try await target.root(["systemctl", "stop", "unbound.service"]).status == 0)

                    // The approvers run a copy of the binary: the checkout may sit under a home they cannot enter.
                    let cliBinary = workspace.directory + "/mcp-linux-infra"
                    #expect(try await ProcessRunner.run("/usr/bin/install", ["-m", "0755", productBinary(), cliBinary]).status == 0)
                    // Each approver holds their key in an ssh-agent of their own OS account (an agent answers only its owner).
                    var agents: [SSHAgentProcess] = []
                    var sockets: [String: String] = [:]
                    func stopAgents() async {
                        for agent in agents { await agent.stop() }
                        agents = []
                    }
                    do {
                        for (user, key) in [(Self.alice, "alice"), (Self.bob, "bob")] {
                            let home = workspace.directory + "/agent-" + key
                            for command in [["install", "-d", "-m", "0700", "-o", user, home],
                                            ["install", "-m", "0600", "-o", user, workspace.approverKey(key), home + "/id_ed25519"]] {
                                #expect(try await ProcessRunner.run("/usr/bin/env", command).status == 0, "\(command)")
                            }
                            let agent = try await SSHAgentProcess(socketPath: home + "/agent.sock", user: user)
                            agents.append(agent)
                            try await agent.add(home + "/id_ed25519")
                            try FileManager.default.removeItem(atPath: home + "/id_ed25519")   // the agent holds it now
                            sockets[user] = agent.socketPath
                        }
                        let scenario: [String: Any] = [
                            "host": "t1", "alice": Self.alice, "bob": Self.bob, "agents": sockets, "alice_key": workspace.approverKey("alice"),
                            "db": state + "/state.sqlite3", "freeze": target.freezeFile, "cli_binary": cliBinary,
                            "runner_ssh": ["/usr/bin/ssh", "-i", workspace.keys + "/pra-runner", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                                           "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + workspace.keys + "/known_hosts",
                                           "-o", "StrictHostKeyChecking=yes", "pra-runner@" + target.address],
                            "stderr": workspace.directory + "/server.stderr", "other_catalogue": other,
                        ]
                        let run = try await ProcessRunner.run(MCPServerTests.python, [LoopbackTarget.repositoryRoot + "/Tests/mcp/pra_workflow.py",
                                                                                      productBinary(), workspace.envFile,
                                                                                      String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
                        await stopAgents()
                        try #require(run.status == 0, "client failed: \(run.stderr.suffix(3000))")
                        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
                        try await Self.check(report, target: target)
                    } catch {
                        await stopAgents()
                        throw error
                    }
                }
            }
        }
    }

    static func check(_ report: [String: Any], target: NspawnTarget) async throws {
        func answer(_ key: String) -> [String: Any] { report[key] as? [String: Any] ?? [:] }
        func cli(_ key: String) -> (Int, String) {
            let pair = report[key] as? [Any] ?? []
            return (pair.first as? Int ?? -1, pair.last as? String ?? "")
        }
        func refused(_ key: String, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(answer(key)["isError"] as? Bool == true && (answer(key)["text"] as? String)?.contains(words) == true,
                    "\(key): \(answer(key)["text"] ?? "")", sourceLocation: sourceLocation)
        }

        // tools/list: the six action tools with honest annotations, and no way to approve or reject.
        let tools = report["tools"] as? [String: [String: Any]] ?? [:]
        #expect(!tools.keys.contains { $0.contains("approve") || $0.contains("reject") }, "\(tools.keys.sorted())")
        #expect(tools["execute_pra_action"]?["destructive"] as? Bool == true && tools["execute_pra_action"]?["readOnly"] as? Bool == false)
        #expect(tools["propose_pra_action"]?["readOnly"] as? Bool == false && tools["list_pra_catalog"]?["readOnly"] as? Bool == true)
        for name in ["propose_pra_action", "list_pending_actions", "get_pra_action", "execute_pra_action", "cancel_pra_action", "list_pra_catalog"] {
            #expect(tools[name] != nil, "\(name) missing")
        }

        // The story: stopped → proposed → (refused early) → approved by alice → executed once → verified → active.
        #expect(report["before"] as? String == "inactive")
        let proposed = answer("proposed")
        let mainID = try #require(report["mainID"] as? String)
        #expect(proposed["state"] as? String == "PROPOSED" && (proposed["digest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(proposed["command"] as? [String] == ["systemctl", "restart", "unbound.service"])
        refused("early", "not approved yet")
        #expect((report["pending"] as? [String])?.contains(mainID) == true)
        let show = cli("show")
        #expect(show.0 == 0 && show.1.contains(proposed["digest"] as? String ?? "?") && show.1.contains("will run:      systemctl restart unbound.service"), "\(show.1)")
        // A rationale cannot forge a field of the review: its second line is marked as the rationale's.
        #expect(show.1.split(separator: "\n").filter { $0.hasPrefix("digest:") }.count == 1 && show.1.contains("  AI| digest:        sha256:forged") && !show.1.contains("DO NOT APPROVE"), "\(show.1)")
        let selfApproval = cli("selfApproval")
        #expect(selfApproval.0 == 1 && selfApproval.1.contains("root proposed this action"), "\(selfApproval.1)")
        #expect(cli("approve").0 == 0, "\(cli("approve").1)")
        let executed = answer("executed")
        #expect(executed["state"] as? String == "COMPLETED", "\(report["executedError"] ?? "")")
        let execution = executed["execution"] as? [String: Any]
        #expect(execution?["exitCode"] as? Int == 0 && execution?["verified"] as? String == "yes", "\(execution ?? [:])")
        #expect((execution?["verification"] as? String)?.contains("unit-active unit=unbound.service") == true)
        #expect(report["after"] as? String == "active")
        refused("again", "already executed")

        // Refusals: rejected (reason required first), expired, digest changed.
        #expect(cli("rejectNoReason").0 == 1 && cli("rejectNoReason").1.contains("reason is required"))
        #expect(cli("reject").0 == 0)
        refused("afterReject", "REJECTED")
        #expect(cli("approveShort").0 == 0)
        refused("afterExpiry", "EXPIRED")
        #expect(cli("approveChanged").0 == 0)
        refused("afterDigestChange", "digest changed since it was approved")
        // Approvals forged in the database by the server's own account count for nothing.
        refused("forgedUnsigned", "carries no signature")
        refused("forgedCopied", "the statement is for proposal")
        // Past the server, with the runner key: the host's root side refuses both itself.
        func direct(_ key: String) -> (Int, String) {
            let pair = report[key] as? [Any] ?? []
            return (pair.first as? Int ?? -1, pair.last as? String ?? "")
        }
        #expect(direct("directUnsigned").0 == 80 && direct("directUnsigned").1.contains("no signed approval"), "\(direct("directUnsigned"))")
        #expect(direct("directCopied").0 == 83 && direct("directCopied").1.contains("signed for proposal \(mainID)"), "\(direct("directCopied"))")

        // M-of-N on HIGH impact.
        #expect(cli("highNoReason").0 == 1 && cli("highNoReason").1.contains("reason is required"))
        #expect(cli("highFirst").0 == 0 && report["highStateAfterOne"] as? String == "PROPOSED")
        #expect(cli("highSameTwice").0 == 1 && cli("highSameTwice").1.contains("already decided"))
        #expect(cli("highSecond").0 == 0 && report["highStateAfterTwo"] as? String == "APPROVED")
        #expect(report["highCancelled"] as? String == "CANCELLED")

        // 20 executes over two servers: one ran, the others were told why.
        let race = answer("race")
        let raceID = try #require(race["id"] as? String)
        #expect(race["ok"] as? Int == 1, "\(race)")
        #expect((race["refusals"] as? [String] ?? []).allSatisfy { $0.contains("already executing") || $0.contains("already executed") }, "\(race)")

        // kill -9 mid-run: INTERRUPTED after restart, never re-run, no audit row lost.
        let killed = answer("killed")
        #expect(killed["stateBeforeKill"] as? String == "EXECUTING" && killed["signal"] as? Int == 9, "\(killed)")
        #expect(answer("afterRestart")["state"] as? String == "INTERRUPTED", "\(answer("afterRestart"))")
        refused("executeInterrupted", "already executed (INTERRUPTED)")
        let doomedRows = cli("doomedAudit").1.split(separator: "\n")
        #expect(["PROPOSED", "APPROVED", "EXECUTING", "INTERRUPTED"].allSatisfy { state in doomedRows.contains { $0.contains("\"outcome\":\"\(state)\"") } },
                "\(doomedRows)")
        // The chain is intact, but the two approvals forged into the database are named: one has no signature,
        // the other carries a signature of another proposal.
        let verify = cli("verify").1
        let forged = report["forgedIDs"] as? [String] ?? ["?", "?"]
        #expect(cli("verify").0 == 1 && !verify.contains("row ") && verify.contains("approval by alice@example.org of proposal \(forged[0]): no signature")
                && verify.contains("approval by alice@example.org of proposal \(forged[1]): the statement is for proposal \(mainID)"), "\(verify)")
        let mainRows = cli("search").1.split(separator: "\n")
        #expect(mainRows.contains { $0.contains("\"kind\":\"ssh\"") && $0.contains("restart_unbound") }, "\(mainRows)")
        #expect(mainRows.contains { $0.contains("\"kind\":\"approval\"") && $0.contains("key:alice@example.org") && $0.contains("osAccount") && $0.contains(alice) },
                "\(mainRows)")
        #expect(cli("list").0 == 0 && cli("list").1.contains("COMPLETED"))

        // The target: what ran, by correlation id. The main action and the race ran once each; nothing else started.
        let journal = try await target.root(["journalctl", "--no-pager", "-o", "cat", "-t", "pra-run", "-t", "pra-exec"]).stdout
        func starts(_ id: String) -> Int { journal.split(separator: "\n").filter { $0.hasPrefix("start ") && $0.contains("id=\(id)") }.count }
        #expect(starts(mainID) == 1, "\(journal.suffix(1500))")
        // The approver's principal reaches the host's journal with the id: pra-run verified the signature itself.
        #expect(journal.split(separator: "\n").contains { $0.hasPrefix("start ") && $0.contains("id=\(mainID)") && $0.contains("approvers=alice@example.org") },
                "\(journal.suffix(1500))")
        #expect(journal.contains("accepted") && journal.split(separator: "\n").contains { $0.contains("done") && $0.contains("id=\(mainID)") })
        #expect(starts(raceID) == 1)
        for key in ["rejectedID", "expiredID", "changedID", "rebootID"] {
            #expect(starts(report[key] as? String ?? "?") == 0, "\(key) ran")
        }
        for id in report["forgedIDs"] as? [String] ?? ["missing"] {
            #expect(starts(id) == 0, "a forged approval ran: \(id)")
            #expect(journal.split(separator: "\n").contains { $0.hasPrefix("refused") && $0.contains("id=\(id)") }, "no refusal logged for \(id)")
        }
        #expect(!journal.contains("action=reboot_system"))
    }

    /// Creates the approvers' group and two accounts, runs `body`, and removes them by name.
    static func withApprovers(_ body: () async throws -> Void) async throws {
        func run(_ arguments: [String]) async throws { try await AccountTools.run(arguments[0], Array(arguments.dropFirst())) }
        for user in [alice, bob] { try await run(["userdel", user]) }
        try await run(["groupdel", group])
        #expect(try await AccountTools.run("groupadd", [group]).status == 0)
        for user in [alice, bob] {
            #expect(try await AccountTools.run("useradd", ["-M", "-N", "-g", group, "-s", "/usr/sbin/nologin", user]).status == 0)
        }
        do {
            try await body()
        } catch {
            for user in [alice, bob] { try await run(["userdel", user]) }
            try await run(["groupdel", group])
            throw error
        }
        for user in [alice, bob] { try await run(["userdel", user]) }
        try await run(["groupdel", group])
    }
}

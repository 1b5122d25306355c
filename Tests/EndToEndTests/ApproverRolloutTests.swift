import Foundation
import InfraConfig
import InfraDomain
import InfraTestSupport
import Testing

/// Approvers are SSH keys (issue 12, part 1): the inventory's mcp_approvers reaches the host as an
/// allowed_signers file that OpenSSH's own `ssh-keygen -Y verify` accepts, limited to approval signatures,
/// and the server reads the same list from the same inventory.
@Suite("Approvers: mcp_approvers rolled out as allowed_signers by the role (real nspawn target, real OpenSSH)", endToEnd)
struct ApproverRolloutTests {
    @Test("The role renders allowed_signers (root, 0644, approval namespace only); ssh-keygen verifies an approver's signature against it")
    func rollout() async throws {
        try requirePrerequisites()
        let scratch = "/run/mcp-infra-tests/approvers-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for (name, type) in [("alice", ["-t", "ed25519"]), ("bob", ["-t", "ecdsa", "-b", "256"])] {
            #expect(try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q"] + type + ["-N", "", "-C", name, "-f", "\(scratch)/\(name)"]).status == 0)
        }
        func pub(_ name: String) throws -> String {
            try String(contentsOfFile: "\(scratch)/\(name).pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let approvers = "[{principal: alice@example.org, key: \"\(try pub("alice"))\"}, {principal: bob@example.org, key: \"\(try pub("bob"))\"}]"
        try await NspawnTarget.with(indexes: [29]) { targets in
            let target = targets[0]
            try await DeploymentWorkspace.with(targets: targets, hostVariables: ["t1": ["mcp_approvers": approvers, "mcp_approvals_high": "3"]]) { workspace in
                // An RSA approver key stops the role before anything changes.
                let rsa = try await workspace.playbook("deploy-mcp-infra.yml",
                                                       ["-e", #"{"mcp_approvers": [{"principal": "eve@example.org", "key": "ssh-rsa AAAAB3NzaC1yc2E eve"}]}"#])
                #expect(rsa.status != 0 && rsa.output.contains("RSA is refused") && rsa.recap("t1")?["changed"] == 0, "\(rsa)")
                let deploy = try await workspace.playbook("deploy-mcp-infra.yml")
                try #require(deploy.status == 0, "\(deploy)")
                let path = "/usr/local/etc/mcp-linux-infra/allowed_signers"
                #expect(try await target.root(["stat", "-c", "%U:%G %a", path]).stdout == "root:root 644\n")
                let file = try await target.root(["cat", path]).stdout
                let lines = file.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
                func keyFields(_ name: String) throws -> String { try pub(name).split(separator: " ")[0...1].joined(separator: " ") }
                #expect(lines == ["alice@example.org namespaces=\"approval@mcp-linux-infra\" \(try keyFields("alice"))",
                                  "bob@example.org namespaces=\"approval@mcp-linux-infra\" \(try keyFields("bob"))"], "\(file)")
                // The thresholds per impact and the host's inventory name, for the root side to check.
                #expect(try await target.root(["cat", "/usr/local/etc/mcp-linux-infra/approvals"]).stdout == "LOW 1\nMEDIUM 1\nHIGH 3\n")
                #expect(try await target.root(["cat", "/usr/local/etc/mcp-linux-infra/inventory-name"]).stdout == "t1\n")
                // The server reads the same list from the same inventory, and renders the same lines.
                let configuration = try ConfigurationLoader.load(environment: [:], envFile: workspace.envFile)
                let host = try #require(configuration.inventory.host(named: "t1"))
                #expect(Approver.allowedSigners(host.approvers).split(separator: "\n").map(String.init) == lines)
                #expect(configuration.settings.approvalPolicy.approvalsNeeded(for: .high, on: host) == 3)

                // OpenSSH accepts it: alice's signature verifies as alice, and only for the approval namespace.
                let signers = "\(scratch)/allowed_signers", statement = "\(scratch)/statement.txt"
                try file.write(toFile: signers, atomically: true, encoding: .utf8)
                try "mcp-linux-infra approval statement v1\nid: 0000\n".write(toFile: statement, atomically: true, encoding: .utf8)
                func sign(_ key: String, namespace: String) async throws -> String {
                    try? FileManager.default.removeItem(atPath: statement + ".sig")
                    #expect(try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-Y", "sign", "-f", "\(scratch)/\(key)", "-n", namespace, statement]).status == 0)
                    let signature = "\(scratch)/\(key)-\(namespace).sig"
                    try? FileManager.default.removeItem(atPath: signature)
                    try FileManager.default.moveItem(atPath: statement + ".sig", toPath: signature)
                    return signature
                }
                func verify(_ signature: String, as principal: String, namespace: String) async throws -> Int32 {
                    // ssh-keygen reads the message on stdin; a tiny shell-free way: the message file as stdin via env.
                    try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-Y", "verify", "-f", signers, "-I", principal, "-n", namespace, "-s", signature],
                                                input: try Data(contentsOf: URL(fileURLWithPath: statement))).status
                }
                let alice = try await sign("alice", namespace: ApprovalStatement.namespace)
                #expect(try await verify(alice, as: "alice@example.org", namespace: ApprovalStatement.namespace) == 0)
                #expect(try await verify(alice, as: "bob@example.org", namespace: ApprovalStatement.namespace) != 0)
                let bob = try await sign("bob", namespace: ApprovalStatement.namespace)
                #expect(try await verify(bob, as: "bob@example.org", namespace: ApprovalStatement.namespace) == 0)
                // A key allowed for approvals is not allowed for anything else (namespaces="…").
                let git = try await sign("alice", namespace: "git")
                #expect(try await verify(git, as: "alice@example.org", namespace: "git") != 0)
                // Our own verifier agrees with OpenSSH on the same signature.
                let parsed = try SSHSignature.parse(armored: String(contentsOfFile: alice, encoding: .utf8))
                try parsed.verify(message: Array(try String(contentsOfFile: statement, encoding: .utf8).utf8), namespace: ApprovalStatement.namespace)
                #expect(host.approvers.first { $0.key.blob == parsed.publicKey.blob }?.principal == "alice@example.org")

                // A second run changes nothing.
                let again = try await workspace.playbook("deploy-mcp-infra.yml")
                #expect(again.status == 0 && again.recap("t1")?["changed"] == 0, "\(again)")
            }
        }
    }

    /// The approvers set of a host, recomputed from its files with the recipe docs/PRA-PROCEDURES.md gives (in double quotes).
    static let setRecipe = "cd /usr/local/etc/mcp-linux-infra && { echo \"mcp-linux-infra approvers set v1\"; "
        + "for f in allowed_signers approvals approval-max-window; do echo \"$f $(wc -c < \"$f\")\"; cat \"$f\"; done; } | sha256sum"

    @Test("Approver changes need the operator's confirmation; one key under two principals and a window over a day are refused; the host bounds the window")
    func changesNeedConfirmation() async throws {
        try requirePrerequisites()
        try await NspawnTarget.with(indexes: [33]) { targets in
            let target = targets[0]
            try await DeploymentWorkspace.with(targets: targets) { workspace in
                // The host's longest window, as an operator sets it for this run (the server reads the inventory's own).
                let window = ["-e", "mcp_approval_max_window=900"]
                func key(_ name: String) throws -> String {
                    try String(contentsOfFile: workspace.approverKey(name) + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
                }
                func approvers(_ list: [(String, String)]) -> [String] {
                    let items = list.map { "{\"principal\": \"\($0.0)\", \"key\": \"\($0.1)\"}" }
                    return ["-e", "{\"mcp_approvers\": [\(items.joined(separator: ", "))]}"]
                }
                let etc = "/usr/local/etc/mcp-linux-infra"
                func hostFile(_ name: String) async throws -> String { try await target.root(["cat", "\(etc)/\(name)"]).stdout }
                func recordFile() async throws -> String { try await target.root(["cat", "/var/lib/mcp-linux-infra-role/approvers-set.sha256"]).stdout }
                func printedHash(_ output: String) -> String? {
                    output.firstMatch(of: /MCP_APPROVERS_CONFIRM=([0-9a-f]{64})/).map { String($0.1) }
                }
                let alice = try key("alice"), bob = try key("bob")

                // One key under two principals (another comment does not make it another key): refused before anything changes.
                let shared = try await workspace.playbook("deploy-mcp-infra.yml",
                                                          window + approvers([("alice@example.org", alice + " laptop"), ("alice-admin@example.org", alice + " admin")]))
                #expect(shared.status != 0 && shared.recap("t1")?["changed"] == 0, "\(shared)")
                #expect(shared.output.contains("mcp_approvers lists the same key under two principals (alice@example.org and alice-admin@example.org)"),
                        "\(shared)")
                let tooLong = try await workspace.playbook("deploy-mcp-infra.yml", ["-e", "mcp_approval_max_window=86401"])
                #expect(tooLong.status != 0 && tooLong.output.contains("mcp_approval_max_window must be a whole number of seconds from 60 to 86400"),
                        "\(tooLong)")
                #expect(try await target.root(["test", "-e", etc]).status != 0, "a refused deploy changed the host")

                // First deploy: the set is recorded and printed, no confirmation needed, and the journal says who.
                let first = try await workspace.playbook("deploy-mcp-infra.yml", window)
                try #require(first.status == 0, "\(first)")
                let recorded = try await recordFile().trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(recorded.wholeMatch(of: /[0-9a-f]{64}/) != nil, "\(recorded)")
                #expect(first.output.contains("approvers set of t1, sha256 \(recorded):") && first.output.contains("recorded before: nothing (first deploy)"),
                        "\(first)")
                let aliceFingerprint = try TestApprovals.fingerprint(ofPublicKeyFile: workspace.approverKey("alice") + ".pub")
                #expect(first.output.contains("alice@example.org \(aliceFingerprint) (ssh-ed25519)"), "\(first)")
                #expect(first.output.contains("approvals LOW 1, MEDIUM 1, HIGH 2") && first.output.contains("longest approval window 900 s"), "\(first)")
                #expect(try await hostFile("approval-max-window") == "900\n")
                // The recorded hash is the documented recipe over the host's own files.
                #expect(try await target.root(["sh", "-c", Self.setRecipe]).stdout.hasPrefix(recorded + " "))
                let user = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "root"
                func journal(containing text: String) async throws -> String {
                    var found = ""
                    for _ in 0..<100 where !found.contains(text) {
                        found = try await target.root(["journalctl", "--no-pager", "-o", "cat", "_UID=0", "-t", "mcp-linux-infra-role"]).stdout
                        if !found.contains(text) { try await Task.sleep(for: .milliseconds(200)) }
                    }
                    return found
                }
                let firstLine = "approvers set of t1 changed: old=none new=\(recorded) by=\(user) sudo-from="
                #expect(try await journal(containing: firstLine).contains(firstLine))

                // The same set again: nothing to confirm, nothing changed, nothing printed.
                let again = try await workspace.playbook("deploy-mcp-infra.yml", window)
                #expect(again.status == 0 && again.recap("t1")?["changed"] == 0 && !again.output.contains("approvers set of t1, sha256"), "\(again)")

                // Adding an approver without confirmation: refused before anything changes, printing the new set and the hash to pass.
                let carol = try await TestApprovals.makeKey(in: workspace.directory, name: "carol")
                let carolKey = try String(contentsOfFile: carol + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
                let three = window + approvers([("alice@example.org", alice), ("bob@example.org", bob), ("carol@example.org", carolKey)])
                let signersBefore = try await hostFile("allowed_signers")
                let unconfirmed = try await workspace.playbook("deploy-mcp-infra.yml", three)
                #expect(unconfirmed.status != 0 && unconfirmed.recap("t1")?["changed"] == 0, "\(unconfirmed)")
                let newHash = try #require(printedHash(unconfirmed.output), "\(unconfirmed)")
                #expect(newHash != recorded)
                let carolFingerprint = try TestApprovals.fingerprint(ofPublicKeyFile: carol + ".pub")
                #expect(unconfirmed.output.contains("would change (recorded \(recorded), new \(newHash))")
                        && unconfirmed.output.contains("carol@example.org \(carolFingerprint)") && unconfirmed.output.contains("Nothing was changed."),
                        "\(unconfirmed)")
                #expect(try await hostFile("allowed_signers") == signersBefore)
                #expect(try await recordFile() == recorded + "\n")
                // A dry run prints the same; a wrong confirmation is refused; lowering HIGH is a change too.
                let dry = try await workspace.playbook("deploy-mcp-infra.yml", three + ["--check"])
                #expect(dry.status != 0 && printedHash(dry.output) == newHash, "\(dry)")
                let wrong = try await workspace.playbook("deploy-mcp-infra.yml", three, environment: ["MCP_APPROVERS_CONFIRM": recorded])
                #expect(wrong.status != 0 && wrong.output.contains("The MCP_APPROVERS_CONFIRM given is not this set."), "\(wrong)")
                let lower = try await workspace.playbook("deploy-mcp-infra.yml", window + ["-e", "mcp_approvals_high=1"])
                #expect(lower.status != 0 && lower.recap("t1")?["changed"] == 0 && printedHash(lower.output).map { $0 != newHash && $0 != recorded } == true,
                        "\(lower)")
                #expect(try await hostFile("approvals") == "LOW 1\nMEDIUM 1\nHIGH 2\n")

                // The right hash as a variable, kept beside the inventory (group_vars) or given with -e, or as the role's
                // own variable: refused, only the environment of ansible-playbook counts.
                let groupVars = workspace.directory + "/group_vars"
                try FileManager.default.createDirectory(atPath: groupVars, withIntermediateDirectories: true)
                try "mcp_approvers_confirm: \(newHash)\n".write(toFile: groupVars + "/all.yml", atomically: true, encoding: .utf8)
                let kept = try await workspace.playbook("deploy-mcp-infra.yml", three)
                try FileManager.default.removeItem(atPath: groupVars)
                let given = try await workspace.playbook("deploy-mcp-infra.yml", three + ["-e", "mcp_infra_approvers_confirm=\(newHash)"])
                for refused in [kept, given] {
                    #expect(refused.status != 0 && refused.recap("t1")?["changed"] == 0
                            && refused.output.contains("read only from the environment of ansible-playbook on the controller"), "\(refused)")
                }
                #expect(try await recordFile() == recorded + "\n")

                // Confirmed with the printed hash: changed, recorded, and the journal names old, new and who.
                let confirmed = try await workspace.playbook("deploy-mcp-infra.yml", three, environment: ["MCP_APPROVERS_CONFIRM": newHash])
                #expect(confirmed.status == 0, "\(confirmed)")
                #expect(try await hostFile("allowed_signers").contains("carol@example.org namespaces=\"approval@mcp-linux-infra\" \(carolKey)"))
                #expect(try await recordFile() == newHash + "\n")
                let change = "approvers set of t1 changed: old=\(recorded) new=\(newHash) by=\(user) sudo-from="
                let changeLog = try await journal(containing: change)
                #expect(changeLog.split(separator: "\n").contains { $0.hasPrefix(change) && $0.hasSuffix("ansible_user=root confirmed=yes") }, "\(changeLog)")
                let settled = try await workspace.playbook("deploy-mcp-infra.yml", three)
                #expect(settled.status == 0 && settled.recap("t1")?["changed"] == 0, "\(settled)")

                // The host's own maximum window (900 s here) bounds what any statement may claim.
                try await DeployedFleet.with(workspace) { fleet in
                    let long = try fleet.statement("t1", "restart_unbound", id: "0a17-0001", from: -5, until: 1200)
                    let refused = try await fleet.act("t1", "restart_unbound id=0a17-0001", approvals: [try await fleet.sign(long)])
                    #expect(refused.exitCode == 86 && refused.stderrText.contains("window 1205 s longer than this host's maximum 900 s (mcp_approval_max_window)"),
                            "\(String(describing: refused.exitCode)) \(refused.stderrText)")
                    let ran = try await fleet.actApproved("t1", "restart_unbound", id: "0a17-0001")
                    #expect(ran.exitCode == 0, "\(ran.stderrText)")
                    let ledger = try await fleet.read("t1", "ledger lines=10")
                    #expect(ledger.stdoutText.contains("entry 0a17-0001 ran=") && ledger.stdoutText.contains(" action=restart_unbound caller=pra-runner "),
                            "\(ledger.stdoutText.prefix(300))")
                }
            }
        }
    }
}

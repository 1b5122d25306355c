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
}

import Foundation
import InfraSSH
import InfraTestSupport
import Testing

/// Bad input, key rotation and removal on a real host (systemd-nspawn), through the playbooks.
@Suite("End to end: role input checks, key rotation and removal", endToEnd, .serialized)
struct KeyRotationAndRemovalTests {
    @Test("Missing server address: the role stops before changing anything, naming the variable and the fix")
    func missingAllowedFromChangesNothing() async throws {
        try requirePrerequisites()
        try await NspawnTarget.with(indexes: [23]) { targets in
            try await DeploymentWorkspace.with(targets: targets) { workspace in
                let outcome = try await workspace.playbook("deploy-mcp-infra.yml", ["-e", "{\"mcp_infra_allowed_from\": []}"])
                #expect(outcome.status != 0)
                #expect(outcome.output.contains("mcp_infra_allowed_from must list the addresses"), "\(outcome)")
                #expect(outcome.recap("t1")?["changed"] == 0)
                let account = try await targets[0].root(["id", "mcp-reader"])
                #expect(account.status != 0, "the account was created although the run failed")
                let files = try await targets[0].root(["ls", "/usr/local/lib/mcp-linux-infra", "/etc/sudoers.d/mcp-linux-infra"])
                #expect(files.status != 0)
                // A prefix under a folder others can write (finding 11): refused before anything changes.
                #expect(try await targets[0].root(["install", "-d", "-m", "0777", "/srv/open"]).status == 0)
                let open = try await workspace.playbook("deploy-mcp-infra.yml", ["-e", "mcp_infra_prefix=/srv/open/usr"])
                #expect(open.status != 0 && open.output.contains("/srv/open (a parent of mcp_infra_prefix") && open.recap("t1")?["changed"] == 0,
                        "\(open)")
                #expect(try await targets[0].root(["id", "mcp-reader"]).status != 0)
            }
        }
    }

    @Test("Rotate the reader's key without a lockout, then remove everything the role installed")
    func rotateThenRemove() async throws {
        try requirePrerequisites()
        try await NspawnTarget.with(indexes: [24]) { targets in
            try await DeploymentWorkspace.with(targets: targets) { workspace in
                let target = targets[0]
                let deploy = try await workspace.playbook("deploy-mcp-infra.yml")
                try #require(deploy.status == 0, "\(deploy)")

                let old = workspace.directory + "/old-mcp-reader", new = workspace.directory + "/new-mcp-reader"
                try FileManager.default.copyItem(atPath: workspace.keys + "/mcp-reader", toPath: old)
                try FileManager.default.copyItem(atPath: workspace.keys + "/mcp-reader.pub", toPath: old + ".pub")
                try await workspace.makeKey(new)
                let rotate = ["-e", "mcp_infra_rotate_account=mcp-reader", "-e", "mcp_infra_rotate_new_key=\(new)",
                              "-e", "mcp_infra_known_hosts=\(workspace.keys)/known_hosts"]

                // Retiring before the server uses the new key is refused, and nothing changes.
                let early = try await workspace.playbook("rotate-mcp-key.yml", rotate + ["-e", "mcp_infra_rotate_step=retire"])
                #expect(early.status != 0 && early.output.contains("is not the new key yet"), "\(early)")
                #expect(try await login(target, key: old, workspace: workspace))

                // Step 1: both keys are accepted.
                let add = try await workspace.playbook("rotate-mcp-key.yml", rotate)
                try #require(add.status == 0, "\(add)")
                #expect(try await login(target, key: old, workspace: workspace), "the old key stopped working before the server moved")
                #expect(try await login(target, key: new, workspace: workspace))
                let doctorOld = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", workspace.envFile])
                #expect(doctorOld.status == 0, "\(doctorOld.stdout)")

                // The operator moves the server to the new key.
                for suffix in ["", ".pub"] {
                    try FileManager.default.removeItem(atPath: workspace.keys + "/mcp-reader" + suffix)
                    try FileManager.default.copyItem(atPath: new + suffix, toPath: workspace.keys + "/mcp-reader" + suffix)
                }
                let doctorNew = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", workspace.envFile])
                #expect(doctorNew.status == 0, "\(doctorNew.stdout)")

                // Step 2: the old key goes; the new one keeps working.
                let retire = try await workspace.playbook("rotate-mcp-key.yml", rotate + ["-e", "mcp_infra_rotate_step=retire"])
                try #require(retire.status == 0, "\(retire)")
                #expect(!(try await login(target, key: old, workspace: workspace)), "the old key is still accepted")
                #expect(try await login(target, key: new, workspace: workspace))
                let doctorAfter = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", workspace.envFile])
                #expect(doctorAfter.status == 0, "\(doctorAfter.stdout)")
                // A normal deploy now keeps the new key only (keys/ holds it): nothing to change.
                let redeploy = try await workspace.playbook("deploy-mcp-infra.yml")
                #expect(redeploy.recap("t1")?["changed"] == 0, "\(redeploy)")

                // Removal: no account, file or sudoers entry is left.
                let remove = try await workspace.playbook("remove-mcp-infra.yml")
                try #require(remove.status == 0, "\(remove)")
                for account in ["mcp-reader", "pra-runner"] {
                    #expect(try await target.root(["id", account]).status != 0, "\(account) still exists")
                }
                let leftovers = try await target.root(["find", "/usr/local/lib", "/usr/local/etc", "/var/lib", "/etc/sudoers.d",
                                                       "/etc/systemd/journald.conf.d", "/etc/ssh/sshd_config.d",
                                                       "-name", "*mcp*", "-o", "-name", "pra-*"])
                #expect(leftovers.stdout.isEmpty, "left behind: \(leftovers.stdout)")
                let sudoers = try await target.root(["grep", "-r", "-l", "-e", "pra-run", "-e", "mcp-reader", "/etc/sudoers", "/etc/sudoers.d"])
                #expect(sudoers.stdout.isEmpty, "sudoers still mention us: \(sudoers.stdout)")
                let doctorGone = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", workspace.envFile])
                #expect(doctorGone.status == 1)
                let again = try await workspace.playbook("remove-mcp-infra.yml")
                #expect(again.status == 0 && again.recap("t1")?["changed"] == 0, "\(again)")
            }
        }
    }

    /// Logs in as mcp-reader with exactly one key (no agent) and asks mcp-wrapper for `version`.
    func login(_ target: NspawnTarget, key: String, workspace: DeploymentWorkspace) async throws -> Bool {
        let outcome = try await ProcessRunner.run("/usr/bin/ssh", [
            "-i", key, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(workspace.keys)/known_hosts",
            "-o", "ControlMaster=no", "-l", "mcp-reader", "--", target.address, "version",
        ])
        return outcome.status == 0 && outcome.stdout.contains("role=reader user=mcp-reader")
    }
}

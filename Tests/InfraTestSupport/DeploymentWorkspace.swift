import Foundation

/// What an operator has on the machine that runs Ansible and the server, for a set of nspawn targets:
/// a keys/ folder (both accounts' key pairs and the pinned known_hosts), one inventory.yml that Ansible
/// deploys from and the server reads, and a .env for mcp-linux-infra.
///
/// Ansible reuses one SSH connection per host (ControlPersist, with its sockets in this workspace);
/// ``close()`` ends those master connections by the socket paths it finds here, then removes the folder.
public struct DeploymentWorkspace: Sendable {
    /// The workspace folder.
    public let directory: String
    /// The targets, in inventory order (host names t1, t2, ...).
    public let targets: [NspawnTarget]

    /// The one inventory file, for Ansible and for the server.
    public var inventory: String { directory + "/inventory.yml" }
    /// The keys folder (the role's mcp_infra_keys_dir and the server's key files).
    public var keys: String { directory + "/keys" }
    /// The server's .env.
    public var envFile: String { directory + "/linux-mcp.env" }
    /// The approvers' key pairs (alice, bob), as their owners would hold them.
    public var approverKeys: String { directory + "/approvers" }
    /// The private key of one approver (alice or bob).
    public func approverKey(_ name: String) -> String { approverKeys + "/" + name }
    /// Inventory host name of a target.
    public func hostName(_ target: NspawnTarget) -> String { "t\(targets.firstIndex { $0.index == target.index }! + 1)" }

    /// The ansible-core/ansible-lint virtualenv made by scripts/install-deps.sh.
    public static var ansibleBin: String {
        (ProcessInfo.processInfo.environment["MCP_INFRA_CACHE"] ?? "/var/cache/mcp-linux-infra") + "/ansible-venv/bin"
    }
    /// True when install-deps.sh has made the Ansible virtualenv.
    public static var hasAnsible: Bool {
        FileManager.default.isExecutableFile(atPath: ansibleBin + "/ansible-playbook")
    }
    /// The message shown when Ansible is missing.
    public static let ansibleReason = "needs the Ansible virtualenv from scripts/install-deps.sh (run it as root)"

    /// Creates the workspace for `targets`. `hostVariables` adds inventory variables per host name.
    public static func create(targets: [NspawnTarget], hostVariables: [String: [String: String]] = [:]) async throws -> DeploymentWorkspace {
        let directory = "/run/mcp-infra-tests/deploy-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let workspace = DeploymentWorkspace(directory: directory, targets: targets)
        let files = FileManager.default
        try files.createDirectory(atPath: workspace.keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try files.createDirectory(atPath: directory + "/cm", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for account in ["mcp-reader", "pra-runner"] {
            try await workspace.makeKey(workspace.keys + "/" + account)
        }
        // Two approvers (alice@example.org, bob@example.org) for every host unless a host sets its own.
        try files.createDirectory(atPath: workspace.approverKeys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        var approvers: [String] = []
        for name in ["alice", "bob"] {
            try await workspace.makeKey(workspace.approverKey(name))
            let key = try String(contentsOfFile: workspace.approverKey(name) + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
            approvers.append("{principal: \(name)@example.org, key: \"\(key)\"}")
        }
        let knownHosts = targets.map(\.knownHostsLine).joined(separator: "\n") + "\n"
        try knownHosts.write(toFile: workspace.keys + "/known_hosts", atomically: true, encoding: .utf8)

        var yaml = """
        # Written by the end-to-end tests: the one inventory Ansible deploys from and the server reads.
        all:
          vars:
            ansible_user: root
            ansible_python_interpreter: /usr/bin/python3
            mcp_infra_keys_dir: \(workspace.keys)
            mcp_infra_reader_fail2ban_status: true
            mcp_approvers: [\(approvers.joined(separator: ", "))]
          children:
            targets:
              vars:
                mcp_allowed_services: [unbound.service, caddy.service]
                mcp_allowed_containers: [web]
                mcp_http_checks: ["http://127.0.0.1/", "http://127.0.0.1:80/", "http://metadata.mcpt.test/"]
                mcp_ping_targets: [127.0.0.1]
              hosts:

        """
        for target in targets {
            let name = workspace.hostName(target)
            yaml += """
                    \(name):
                      ansible_host: \(target.address)
                      ansible_ssh_private_key_file: \(target.bootstrapKey)
                      mcp_infra_allowed_from: [\(target.hostSideAddress)]

            """
            for (key, value) in (hostVariables[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                yaml += "          \(key): \(value)\n"
            }
        }
        try yaml.write(toFile: workspace.inventory, atomically: true, encoding: .utf8)
        try """
        LINUX_MCP_INVENTORY=\(workspace.inventory)
        LINUX_MCP_KNOWN_HOSTS=\(workspace.keys)/known_hosts
        LINUX_MCP_CATALOGUE=\(LoopbackTarget.repositoryRoot)/system/pra-catalogue.tsv
        LINUX_MCP_DB=\(workspace.directory)/state/state.sqlite3
        LINUX_MCP_READER_KEY=\(workspace.keys)/mcp-reader
        LINUX_MCP_RUNNER_KEY=\(workspace.keys)/pra-runner
        LINUX_MCP_SSH_AGENT=none

        """.write(toFile: workspace.envFile, atomically: true, encoding: .utf8)
        return workspace
    }

    /// Generates an ed25519 key pair at `path` (and `path.pub`).
    public func makeKey(_ path: String) async throws {
        let outcome = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", path])
        guard outcome.status == 0 else { throw LoopbackTarget.TargetError(message: "ssh-keygen failed: \(outcome.stderr)") }
    }

    /// Runs one playbook of ansible/playbooks against this inventory, as an operator would.
    public func playbook(_ name: String, _ arguments: [String] = [], environment extra: [String: String] = [:]) async throws -> AnsibleOutcome {
        var environment = ProcessInfo.processInfo.environment.merging(extra) { _, given in given }
        environment["PATH"] = Self.ansibleBin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["ANSIBLE_SSH_ARGS"] = "-o ControlMaster=auto -o ControlPersist=120s -o ControlPath=\(directory)/cm/%C "
            + "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=\(keys)/known_hosts -o IdentityAgent=none"
        environment["ANSIBLE_PIPELINING"] = "true"
        environment["ANSIBLE_NOCOLOR"] = "true"
        environment["ANSIBLE_FORCE_COLOR"] = "false"
        environment["ANSIBLE_RETRY_FILES_ENABLED"] = "false"
        environment["ANSIBLE_LOCAL_TEMP"] = directory + "/ansible-local"
        environment["ANSIBLE_HOME"] = directory + "/ansible-home"
        let playbook = LoopbackTarget.repositoryRoot + "/ansible/playbooks/" + name
        let outcome = try await ProcessRunner.run(Self.ansibleBin + "/ansible-playbook", ["-i", inventory, playbook] + arguments,
                                                  environment: environment, currentDirectory: directory)
        return AnsibleOutcome(status: outcome.status, output: outcome.stdout + outcome.stderr)
    }

    /// Ends Ansible's master connections (by the control sockets in this workspace) and removes the folder.
    public func close() async {
        let sockets = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/cm")) ?? []
        for socket in sockets {
            _ = try? await ProcessRunner.run("/usr/bin/ssh", ["-o", "ControlPath=\(directory)/cm/\(socket)", "-O", "exit", "unused"])
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Creates a workspace, runs `body`, and always closes it.
    public static func with<T>(targets: [NspawnTarget], hostVariables: [String: [String: String]] = [:],
                               _ body: (DeploymentWorkspace) async throws -> T) async throws -> T {
        let workspace = try await create(targets: targets, hostVariables: hostVariables)
        do {
            let value = try await body(workspace)
            await workspace.close()
            return value
        } catch {
            await workspace.close()
            throw error
        }
    }
}

/// The result of one ansible-playbook run, with its PLAY RECAP parsed.
public struct AnsibleOutcome: Sendable, CustomStringConvertible {
    /// ansible-playbook's exit status.
    public let status: Int32
    /// Everything it printed.
    public let output: String

    /// The recap counters of one host (ok, changed, unreachable, failed, ...), or nil if it has no recap line.
    public func recap(_ host: String) -> [String: Int]? {
        guard let recapStart = output.range(of: "PLAY RECAP") else { return nil }
        for line in output[recapStart.upperBound...].split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == host else { continue }
            var counters: [String: Int] = [:]
            for pair in parts[1].split(separator: " ") {
                let keyValue = pair.split(separator: "=")
                if keyValue.count == 2, let number = Int(keyValue[1]) { counters[String(keyValue[0])] = number }
            }
            return counters
        }
        return nil
    }

    /// The last 40 lines, for failure messages.
    public var description: String {
        "ansible-playbook exit \(status):\n" + output.split(separator: "\n", omittingEmptySubsequences: false).suffix(40).joined(separator: "\n")
    }
}

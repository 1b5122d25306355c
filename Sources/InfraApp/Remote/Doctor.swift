import InfraDomain

/// Checks every inventory host with both accounts: connect, verify the pinned host key, authenticate,
/// and run the account's forced command with the harmless `version` request.
public struct Doctor: Sendable {
    /// The outcome for one host and one account.
    public struct Check: Sendable, Equatable {
        public var host: String
        public var account: Account
        public var user: String
        public var passed: Bool
        public var latency: Duration
        /// The first line the forced command printed, or the error.
        public var detail: String
        /// `agent` or `key-file` when authenticated.
        public var authentication: String?
        /// Components whose hash on the host differs from this release (reader check only).
        public var drift: [ComponentDrift.Difference] = []
        /// What the host warns about (reader check only): login paths of its sshd that skip the forced command.
        public var warnings: [String] = []

        /// The warnings as terminal lines (they do not fail the check).
        public var warningLines: [String] {
            warnings.map { "WARN  \(host)  \($0); set mcp_infra_sshd_dropin: true for this host and redeploy the role" }
        }

        /// One line for a terminal: status, host, account, user, latency, authentication, detail.
        public var line: String {
            let ms = Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
            let status = !drift.isEmpty ? "DRIFT" : passed ? "ok  " : "FAIL"
            let detail = drift.isEmpty ? detail
                : "differs from this release: " + drift.map(\.description).joined(separator: "; ") + "; redeploy the role"
            return "\(status)  \(host)  \(account.rawValue)(\(user))  \(String(format: "%.1f", ms)) ms  "
                + "\(authentication ?? "-")  \(detail)"
        }
    }

    /// The request every forced command answers without side effects.
    public static let probeRequest = AuditedExec.versionRequest

    private let hosts: [InventoryHost]
    private let remote: any RemoteExec
    private let users: @Sendable (Account) -> String
    private let timeout: Duration
    private let release: [String: String]

    /// Creates a doctor over the inventory's hosts and the remote-execution port.
    public init(hosts: [InventoryHost], remote: any RemoteExec, users: @escaping @Sendable (Account) -> String, timeout: Duration,
                release: [String: String]) {
        self.hosts = hosts
        self.remote = remote
        self.users = users
        self.timeout = timeout
        self.release = release
    }

    /// One WARN line per host on which nobody can approve an action (``InventoryHost/noApproversWarning``); they do not
    /// fail the doctor: the host is reachable and diagnosable, only its approved actions wait for approvers.
    public var approverWarningLines: [String] {
        hosts.compactMap { host in host.noApproversWarning.map { "WARN  \(host.name)  \($0)" } }
    }

    /// Runs every check concurrently and returns them in inventory order, reader before runner.
    public func run() async -> [Check] {
        let hosts = self.hosts, remote = self.remote, users = self.users, timeout = self.timeout, release = self.release
        var checks = await withTaskGroup(of: (Int, Check).self) { group in
            for (index, host) in hosts.enumerated() {
                for (offset, account) in Account.allCases.enumerated() {
                    group.addTask {
                        (index * 2 + offset, await Self.check(host: host, account: account, user: users(account), timeout: timeout,
                                                              remote: remote, release: release))
                    }
                }
            }
            var results: [(Int, Check)] = []
            for await result in group { results.append(result) }
            return results
        }
        checks.sort { $0.0 < $1.0 }
        return checks.map(\.1)
    }

    private static func check(host: InventoryHost, account: Account, user: String, timeout: Duration, remote: any RemoteExec,
                              release: [String: String]) async -> Check {
        let started = ContinuousClock.now
        do {
            let result = try await remote.run(RemoteRequest(host: host, account: account, command: probeRequest, timeout: timeout))
            let firstLine = result.stdoutText.split(separator: "\n").first.map(String.init) ?? ""
            let passed = result.exitCode == 0
            let detail = passed ? firstLine
                : "forced command answered exit \(result.exitCode.map(String.init) ?? "signal \(result.exitSignal ?? "?")"): "
                    + (result.stderrText.split(separator: "\n").first.map(String.init) ?? "")
            // The reader's answer lists the host's component hashes; a difference from this release fails the check.
            let drift = passed && account == .reader
                ? ComponentDrift.differences(reported: ComponentDrift.reported(in: result.stdoutText), expected: release) : []
            // The host records the login paths its sshd leaves open when the role's drop-in is off.
            let warnings = passed && account == .reader
                ? result.stdoutText.split(separator: "\n").filter { $0.hasPrefix("warning sshd-open-path ") }
                    .map { "sshd lets \(user) log in through " + $0.dropFirst("warning sshd-open-path ".count) + ", which skips authorized_keys' command=" }
                : []
            return Check(host: host.name, account: account, user: user, passed: passed && drift.isEmpty,
                         latency: started.duration(to: .now), detail: detail,
                         authentication: await remote.authenticationMethod(host: host.name, user: user), drift: drift,
                         warnings: warnings)
        } catch {
            return Check(host: host.name, account: account, user: user, passed: false,
                         latency: started.duration(to: .now), detail: "\(error)", authentication: nil)
        }
    }
}

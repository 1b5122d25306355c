import InfraDomain

/// Every request to a host, audited, with the busy rule and the one-deadline rule: the only way the use
/// cases reach a host.
///
/// A request the host refuses as busy (its account already runs `max-requests` requests,
/// ``TargetExitCode/busy``) is tried again with backoff (about 0.2, 0.4, 0.8, 1.6 s, each with random jitter
/// so refused callers do not return together), each attempt audited, before the busy answer is returned. All
/// attempts share one deadline, the timeout from the first: a retry that could not finish before it is not
/// made, and each attempt gets only the time left. Each attempt writes one `ssh` audit row (host, account,
/// verb, exit, duration, sizes; never the output) before its answer is used.
public struct AuditedExec: Sendable {
    let remote: any RemoteExec
    let recorder: AuditRecorder
    /// Who is acting (the server's actor name).
    let actor: String
    /// The OS user of each account on the hosts, for the audit row.
    let users: @Sendable (Account) -> String
    /// The timeout of a request that names none (LINUX_MCP_COMMAND_TIMEOUT).
    let defaultTimeout: Duration
    /// What the last request to each host showed.
    public let reachability: ReachabilityLog
    /// The time the deadline and the backoff pauses are measured in.
    let clock: Timing
    /// Where each attempt's latency goes (by host, account and outcome).
    let metrics: InfraMetrics

    /// The time of the busy rule: now, and a pause (tests pass a clock they move).
    public struct Timing: Sendable {
        /// The current instant.
        public var now: @Sendable () -> ContinuousClock.Instant
        /// Waits `duration`.
        public var sleep: @Sendable (Duration) async throws -> Void

        /// A timing from its two functions.
        public init(now: @escaping @Sendable () -> ContinuousClock.Instant, sleep: @escaping @Sendable (Duration) async throws -> Void) {
            self.now = now
            self.sleep = sleep
        }

        /// The machine's continuous clock.
        public static let system = Timing(now: { .now }, sleep: { try await Task.sleep(for: $0) })
    }

    /// Creates the exec over a remote port and an audit recorder.
    public init(remote: any RemoteExec, recorder: AuditRecorder, actor: String, users: @escaping @Sendable (Account) -> String,
                defaultTimeout: Duration, reachability: ReachabilityLog = ReachabilityLog(), clock: Timing = .system,
                metrics: InfraMetrics = .process) {
        self.remote = remote
        self.recorder = recorder
        self.actor = actor
        self.users = users
        self.defaultTimeout = defaultTimeout
        self.reachability = reachability
        self.clock = clock
        self.metrics = metrics
    }

    /// Runs `command` on `host` as `account` with the busy retries, every attempt audited.
    public func run(_ command: String, on host: InventoryHost, account: Account, timeout: Duration? = nil, proposalID: String = "",
                    stdin: [UInt8] = []) async throws -> ExecResult {
        let clock = self.clock
        let deadline = clock.now() + (timeout ?? defaultTimeout)
        func attempt() async throws -> ExecResult {
            try await once(RemoteRequest(host: host, account: account, command: command, stdin: stdin, timeout: deadline - clock.now(),
                                         proposalID: proposalID))
        }
        var delay = Duration.milliseconds(200)
        var answer = try await attempt()
        for _ in 0..<4 where answer.exitCode == TargetExitCode.busy.rawValue {
            let pause = delay / 2 + .milliseconds(Int.random(in: 0...Int(Self.milliseconds(delay) / 2)))
            // Time for the pause and at least as long again for the attempt itself; else the busy answer stands.
            guard deadline - clock.now() > pause * 2 else { break }
            try await clock.sleep(pause)
            // A pause that overran (a loaded machine) left too little for an attempt: the busy answer stands.
            guard deadline - clock.now() >= pause else { break }
            delay *= 2
            answer = try await attempt()
        }
        return answer
    }

    /// A reader request whose outcome is noted in ``reachability`` (what `list_hosts` reports).
    public func read(_ command: String, on host: InventoryHost) async throws -> ExecResult {
        let started = ContinuousClock.now
        do {
            let answer = try await run(command, on: host, account: .reader)
            let detail = answer.exitCode == 0 && command == Self.versionRequest
                ? answer.stdoutText.split(separator: "\n").first.map(String.init) ?? "" : "forced command answered"
            await reachability.record(host.name, reachable: true, detail: detail, latency: started.duration(to: .now))
            return answer
        } catch {
            await reachability.record(host.name, reachable: false, detail: String(describing: error), latency: started.duration(to: .now))
            throw error
        }
    }

    /// The request every forced command answers without side effects: its version and component hashes.
    public static let versionRequest = "version"

    /// One attempt, audited.
    func once(_ request: RemoteRequest) async throws -> ExecResult {
        let started = ContinuousClock.now
        var detail = ["account": users(request.account), "verb": String(request.command.split(separator: " ").first ?? ""),
                      "request": request.command]
        if !request.stdin.isEmpty { detail["stdinBytes"] = String(request.stdin.count) }
        do {
            let answer = try await remote.run(request)
            detail["exit"] = answer.exitCode.map(String.init) ?? "signal \(answer.exitSignal ?? "?")"
            detail["durationMs"] = String(Self.milliseconds(started.duration(to: .now)))
            detail["stdoutBytes"] = String(answer.stdout.count)
            detail["stderrBytes"] = String(answer.stderr.count)
            metrics.sshExec(host: request.host.name, account: request.account, outcome: answer.exitCode == 0 ? "ok" : "exit",
                            duration: started.duration(to: .now))
            try await recorder.record(.init(actor: actor, kind: "ssh", host: request.host.name, proposalID: request.proposalID,
                                            outcome: answer.exitCode == 0 ? "ok" : "exit", detail: detail))
            return answer
        } catch let failure as RemoteFailure {
            detail["error"] = failure.description
            detail["durationMs"] = String(Self.milliseconds(started.duration(to: .now)))
            metrics.sshExec(host: request.host.name, account: request.account, outcome: "unreachable", duration: started.duration(to: .now))
            try await recorder.record(.init(actor: actor, kind: "ssh", host: request.host.name, proposalID: request.proposalID,
                                            outcome: "unreachable", detail: detail))
            throw failure
        }
    }

    /// Whole milliseconds of a duration.
    public static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

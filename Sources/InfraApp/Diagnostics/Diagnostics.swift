import InfraDomain

/// The read-only side, for every adapter: resolve a host expression against the inventory (the allowlist),
/// check each host's egress lists for the tool's arguments, run the tool's wrapper requests on every host at
/// most ``width`` at a time through the audited reader account, and hand back each host's outputs or error.
/// There is no local execution path: every diagnostic runs through mcp-reader and mcp-wrapper on a host.
public struct Diagnostics: Sendable {
    let exec: AuditedExec
    /// The hosts and groups that exist.
    public let inventory: Inventory
    /// Hosts one fan-out reaches at the same time.
    let width: Int
    /// SHA-256 of each target-side component of this release, for drift.
    let releaseComponents: [String: String]

    /// Creates the use case over the audited exec.
    public init(exec: AuditedExec, inventory: Inventory, width: Int = 16, releaseComponents: [String: String]) {
        self.exec = exec
        self.inventory = inventory
        self.width = width
        self.releaseComponents = releaseComponents
    }

    /// One diagnostic call, as its tool declares it.
    public struct Call: Sendable {
        /// A host, a group, or a comma-separated list of them.
        public var expression: String
        /// False when the tool takes exactly one host.
        public var fansOut: Bool
        /// The validated arguments, by name.
        public var words: [String: String]
        /// The wrapper requests, in order.
        public var requests: [String]
        /// Non-zero exit codes that still carry an answer when nothing was printed on stderr.
        public var acceptedExitCodes: Set<Int32>
        /// The host lists the arguments must be on.
        public var egress: [EgressAllowlist.Rule]

        /// Creates a call.
        public init(expression: String, fansOut: Bool, words: [String: String], requests: [String], acceptedExitCodes: Set<Int32> = [0],
                    egress: [EgressAllowlist.Rule] = []) {
            self.expression = expression
            self.fansOut = fansOut
            self.words = words
            self.requests = requests
            self.acceptedExitCodes = acceptedExitCodes
            self.egress = egress
        }
    }

    /// One host's result.
    public struct HostResult<Value: Sendable>: Sendable {
        public var host: String
        public var value: Value?
        public var error: String?
        public var duration: Duration
        public var ok: Bool { error == nil }
    }

    /// The hosts `expression` names, or a refusal naming the argument; `single` requires one host by name.
    public func hosts(_ expression: String, single: Bool) throws(Refusal) -> [InventoryHost] {
        let hosts: [InventoryHost]
        do {
            hosts = try inventory.resolve(expression)
        } catch {
            throw Refusal(.unknownHost, "argument 'host': \(error.description). Call list_hosts for the inventory.")
        }
        if single && (hosts.count != 1 || inventory.host(named: expression) == nil) {
            throw Refusal(.unknownHost, "argument 'host': '\(expression)' names a group or a list; this tool takes one inventory host name")
        }
        return hosts
    }

    /// Runs `call` on every host it names (after the egress check, before any SSH), parsing each host's
    /// outputs with `parse`; a host that fails is reported in its own result.
    public func run<Value: Sendable>(_ call: Call, parse: @escaping @Sendable ([String]) throws -> Value,
                                     progress: @escaping @Sendable (Int, Int) async -> Void) async throws(Refusal) -> [HostResult<Value>] {
        let hosts = try hosts(call.expression, single: !call.fansOut)
        // The host's own lists (inventory), checked before any SSH: the wrapper checks them again.
        for host in hosts {
            for rule in call.egress {
                if let refusal = rule.refusal(call.words, on: host) { throw Refusal(.invalidArgument, refusal) }
            }
        }
        return await fanOut(hosts) { host in
            var outputs: [String] = []
            for request in call.requests {
                let answer = try await exec.read(request, on: host)
                // A non-zero code the tool accepts is an answer only when the program printed no error.
                guard let code = answer.exitCode, code == 0 || (call.acceptedExitCodes.contains(code) && answer.stderr.isEmpty) else {
                    let reason = answer.stderrText.split(separator: "\n").first.map(String.init) ?? "no message"
                    throw RemoteFailure("mcp-wrapper exit \(answer.exitCode.map(String.init) ?? "signal \(answer.exitSignal ?? "?")"): \(reason)")
                }
                outputs.append(answer.stdoutText)
            }
            return try parse(outputs)
        } progress: { done, total in
            await progress(done, total)
        }
    }

    /// Asks every host for its version now and returns, per host name, the components that differ from
    /// this release (empty when none); hosts that did not answer are left out.
    public func drift() async -> [String: [ComponentDrift.Difference]] {
        let release = releaseComponents
        let probed = await fanOut(inventory.hosts) { host in
            let answer = try await exec.read(AuditedExec.versionRequest, on: host)
            return ComponentDrift.differences(reported: ComponentDrift.reported(in: answer.stdoutText), expected: release)
        } progress: { _, _ in }
        var drift: [String: [ComponentDrift.Difference]] = [:]
        for result in probed { if let value = result.value { drift[result.host] = value } }
        return drift
    }

    /// What the last request to `host` showed.
    public func reachability(of host: String) async -> ReachabilityLog.Observation? {
        await exec.reachability.observation(of: host)
    }

    /// Runs `work` on every host, at most ``width`` at a time, in inventory order; failures become results.
    func fanOut<Value: Sendable>(_ hosts: [InventoryHost], work: @escaping @Sendable (InventoryHost) async throws -> Value,
                                 progress: @escaping @Sendable (Int, Int) async -> Void) async -> [HostResult<Value>] {
        await withTaskGroup(of: (Int, HostResult<Value>).self) { group in
            var results = [HostResult<Value>?](repeating: nil, count: hosts.count)
            var next = 0, done = 0
            func start(_ index: Int) {
                let host = hosts[index]
                group.addTask {
                    let started = ContinuousClock.now
                    do {
                        let value = try await work(host)
                        return (index, HostResult(host: host.name, value: value, duration: started.duration(to: .now)))
                    } catch {
                        return (index, HostResult(host: host.name, error: String(describing: error), duration: started.duration(to: .now)))
                    }
                }
            }
            while next < min(width, hosts.count) { start(next); next += 1 }
            for await (index, result) in group {
                results[index] = result
                done += 1
                await progress(done, hosts.count)
                // A cancelled call (its client went away) asks no further host; those already asked finish.
                if next < hosts.count && !Task.isCancelled { start(next); next += 1 }
            }
            return results.enumerated().map { index, result in
                result ?? HostResult(host: hosts[index].name, error: "not asked: the call was cancelled before this host's turn",
                                     duration: .zero)
            }
        }
    }
}

import Foundation
import InfraConfig
import InfraDomain

/// A private sshd on 127.0.0.1 with two fresh forced-command accounts, for one test.
///
/// Started by `Tests/targets/loopback-target.sh up` and always stopped by `down`, which kills only the
/// PIDs and removes only the accounts it saved. Account names are random so tests can run in parallel
/// and never touch real `mcp-reader`/`pra-runner` accounts.
public struct LoopbackTarget: Sendable {
    public let stateDirectory: String
    public let port: Int
    public let readerUser: String
    public let runnerUser: String

    /// The `.env` the target wrote for mcp-linux-infra.
    public var envFile: String { stateDirectory + "/linux-mcp.env" }
    /// sshd's own log (LogLevel DEBUG1).
    public var sshdLog: String { stateDirectory + "/sshd.log" }
    /// The listener's PID.
    public var sshdPID: Int32 { Int32(Self.stateValue(stateDirectory, "sshd_pid") ?? "") ?? -1 }

    /// True when the tests run as root (CI does); the target needs root.
    public static var isRoot: Bool { getuid() == 0 }

    /// The message shown when a test is skipped for lack of root.
    public static let rootReason = "needs root: starts a private sshd and creates Unix accounts (CI runs it as root)"

    /// The repository checkout, found from this file's path.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var script: String { repositoryRoot + "/Tests/targets/loopback-target.sh" }

    /// Starts a target, runs `body`, and stops the target whatever happens. `exclusive` runs it while no
    /// other target test runs (see ``TestGate``).
    /// With `namespace`, sshd is started inside that network namespace.
    public static func with<T>(extraArguments: [String] = [], exclusive: Bool = false, namespace: TestNetworkNamespace? = nil,
                               _ body: (LoopbackTarget) async throws -> T) async throws -> T {
        await TestGate.shared.enter(exclusive: exclusive)
        do {
            let target = try await start(extraArguments: extraArguments, namespace: namespace)
            do {
                let value = try await body(target)
                try await target.stop()
                await TestGate.shared.leave(exclusive: exclusive)
                return value
            } catch {
                try? await target.stop()
                throw error
            }
        } catch {
            await TestGate.shared.leave(exclusive: exclusive)
            throw error
        }
    }

    /// Starts a target with random account names.
    public static func start(extraArguments: [String] = [], namespace: TestNetworkNamespace? = nil) async throws -> LoopbackTarget {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let state = "/run/mcp-infra-tests/\(tag)"
        try FileManager.default.createDirectory(atPath: "/run/mcp-infra-tests", withIntermediateDirectories: true)
        let reader = "mt\(tag)r", runner = "mt\(tag)p"
        let up = [script, "up", state, "--reader", reader, "--runner", runner] + extraArguments
        let outcome = if let namespace { try await namespace.run("/bin/bash", up) } else { try await ProcessRunner.run("/bin/bash", up) }
        guard outcome.status == 0, let port = stateValue(state, "port").flatMap(Int.init) else {
            throw TargetError(message: "loopback target did not start (exit \(outcome.status)): \(outcome.stderr)")
        }
        return LoopbackTarget(stateDirectory: state, port: port, readerUser: reader, runnerUser: runner)
    }

    /// Stops sshd, kills the accounts' processes, removes the accounts and the state directory.
    public func stop() async throws {
        let outcome = try await ProcessRunner.run("/bin/bash", [Self.script, "down", stateDirectory])
        guard outcome.status == 0 else { throw TargetError(message: "loopback target teardown failed: \(outcome.stderr)") }
    }

    /// Loads the product configuration for this target, with `overrides` on top of its `.env`.
    public func configuration(_ overrides: [String: String] = [:]) throws -> LoadedConfiguration {
        try ConfigurationLoader.load(environment: overrides, envFile: envFile)
    }

    /// Writes a known_hosts at `path` that pins a freshly generated key (not this host's) for this target,
    /// and returns that key's `.pub` path: a "host key changed" situation.
    @discardableResult
    public func pinUnrelatedHostKey(at path: String) async throws -> String {
        let other = stateDirectory + "/unrelated-host-key-\(UUID().uuidString.prefix(8))"
        try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other])
        let pub = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ")
        try "[127.0.0.1]:\(port) \(pub[0]) \(pub[1])\n".write(toFile: path, atomically: true, encoding: .utf8)
        return other + ".pub"
    }

    /// The text of sshd's log so far.
    public func sshdLogText() -> String {
        (try? String(contentsOfFile: sshdLog, encoding: .utf8)) ?? ""
    }

    /// PIDs of the per-connection sshd processes and everything below them (not the listener).
    public func connectionPIDs() -> [Int32] {
        var result: [Int32] = []
        var frontier = Self.children(of: sshdPID)
        while let pid = frontier.popLast() {
            result.append(pid)
            frontier.append(contentsOf: Self.children(of: pid))
        }
        return result
    }

    static func children(of pid: Int32) -> [Int32] {
        let path = "/proc/\(pid)/task/\(pid)/children"
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func stateValue(_ state: String, _ key: String) -> String? {
        guard let text = try? String(contentsOfFile: state + "/target.state", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    /// A failure to start or stop the target.
    public struct TargetError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        /// Creates an error with its message.
        public init(message: String) { self.message = message }
    }
}

import Foundation

/// A network namespace of the test's own, with only its loopback up: every 127.0.0.0/8 address in it
/// reaches what the test starts there, and nothing else is reachable. Removed by its saved name.
public struct TestNetworkNamespace: Sendable {
    public let name: String

    /// Creates a namespace, runs `body`, and deletes the namespace whatever happens.
    public static func with<T>(_ body: (TestNetworkNamespace) async throws -> T) async throws -> T {
        let namespace = TestNetworkNamespace(name: "mcpt-ns-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
        let added = try await ProcessRunner.run("/usr/sbin/ip", ["netns", "add", namespace.name])
        guard added.status == 0 else { throw LoopbackTarget.TargetError(message: "ip netns add failed: \(added.stderr)") }
        do {
            let up = try await ProcessRunner.run("/usr/sbin/ip", ["-n", namespace.name, "link", "set", "lo", "up"])
            guard up.status == 0 else { throw LoopbackTarget.TargetError(message: "lo up failed: \(up.stderr)") }
            let value = try await body(namespace)
            try await namespace.delete()
            return value
        } catch {
            try? await namespace.delete()
            throw error
        }
    }

    /// The argument vector that runs `executable` inside the namespace.
    public func inside(_ executable: String, _ arguments: [String]) -> [String] {
        ["netns", "exec", name, executable] + arguments
    }

    /// Runs `executable` inside the namespace and waits for it.
    public func run(_ executable: String, _ arguments: [String]) async throws -> ProcessRunner.Outcome {
        try await ProcessRunner.run("/usr/sbin/ip", inside(executable, arguments))
    }

    private func delete() async throws {
        let deleted = try await ProcessRunner.run("/usr/sbin/ip", ["netns", "del", name])
        guard deleted.status == 0 else { throw LoopbackTarget.TargetError(message: "ip netns del \(name) failed: \(deleted.stderr)") }
    }
}

import Foundation
import InfraApp

/// An ssh-agent for one test, run in the foreground (`-D`) as our own child so it is stopped by its PID.
///
/// A daemonising agent (`ssh-agent -s`) would leave its parent unreaped and outlive the test.
public final class SSHAgentProcess: @unchecked Sendable {
    public let socketPath: String
    private let child: ChildProcess
    private let lock = NSLock()
    private var stopped = false

    /// Starts an agent listening on `socketPath` and waits until the socket exists.
    public init(socketPath: String) async throws {
        self.socketPath = socketPath
        child = try ChildProcess.start("/usr/bin/ssh-agent", ["-D", "-a", socketPath])
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socketPath) {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard FileManager.default.fileExists(atPath: socketPath) else {
            await stop()
            throw LoopbackTarget.TargetError(message: "ssh-agent did not create \(socketPath)")
        }
    }

    /// The environment that reaches this agent.
    public var environment: [String: String] { ["SSH_AUTH_SOCK": socketPath] }

    /// Adds a private key file to the agent.
    public func add(_ keyPath: String) async throws {
        let added = try await ProcessRunner.run("/usr/bin/ssh-add", ["-q", keyPath], environment: environment)
        guard added.status == 0 else { throw LoopbackTarget.TargetError(message: "ssh-add \(keyPath): \(added.stderr)") }
    }

    /// Stops the agent by its PID and reaps it.
    public func stop() async {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        kill(child.pid, SIGTERM)
        _ = await child.wait()
        try? FileManager.default.removeItem(atPath: socketPath)
    }
}

import Foundation

/// An ssh-agent for one test, run in the foreground (`-D`) as our own child so it is stopped by its PID.
///
/// A daemonising agent (`ssh-agent -s`) would leave its parent unreaped and outlive the test.
public final class SSHAgentProcess: @unchecked Sendable {
    public let socketPath: String
    private let process: Process

    /// Starts an agent listening on `socketPath` and waits until the socket exists.
    public init(socketPath: String) async throws {
        self.socketPath = socketPath
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
        process.arguments = ["-D", "-a", socketPath]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try ProcessRunner.launch(process)
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socketPath) {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard FileManager.default.fileExists(atPath: socketPath) else {
            await stop()
            throw LoopbackTarget.TargetError(message: "ssh-agent did not create \(socketPath)")
        }
    }

    /// Adds a private key file to the agent.
    public func add(_ keyPath: String) async throws {
        let added = try await ProcessRunner.run("/usr/bin/ssh-add", ["-q", keyPath], environment: ["SSH_AUTH_SOCK": socketPath])
        guard added.status == 0 else { throw LoopbackTarget.TargetError(message: "ssh-add \(keyPath): \(added.stderr)") }
    }

    /// Stops the agent by its PID. SIGKILL: a child started from a Swift runtime thread inherits a mask
    /// that blocks SIGTERM, and the agent holds nothing worth a clean exit.
    public func stop() async {
        let pid = process.processIdentifier
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        for _ in 0..<50 where process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        try? FileManager.default.removeItem(atPath: socketPath)
    }
}

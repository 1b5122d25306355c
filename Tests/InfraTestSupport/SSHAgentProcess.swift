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

    /// The OS account the agent runs as (nil: this process's). An agent answers only its own account and root.
    public let user: String?

    /// Starts an agent listening on `socketPath` (as `user`, through runuser, when given) and waits until
    /// the socket exists.
    public init(socketPath: String, user: String? = nil) async throws {
        self.socketPath = socketPath
        self.user = user
        let agent = ["/usr/bin/ssh-agent", "-D", "-a", socketPath]
        child = try user.map { try ChildProcess.start("/usr/sbin/runuser", ["-u", $0, "--"] + agent) }
            ?? ChildProcess.start(agent[0], Array(agent.dropFirst()))
        // The socket file exists from bind(); the agent answers only from listen() on: wait until a connection
        // is accepted (under load the gap is long enough for ssh-add to be refused).
        for _ in 0..<500 where !Self.accepts(socketPath) {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard Self.accepts(socketPath) else {
            await stop()
            throw LoopbackTarget.TargetError(message: "ssh-agent does not accept connections on \(socketPath)")
        }
    }

    /// True when a Unix-domain connection to `path` is accepted.
    static func accepts(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }

    /// The environment that reaches this agent.
    public var environment: [String: String] { ["SSH_AUTH_SOCK": socketPath] }

    /// Adds a private key file to the agent (a file the agent's account can read).
    public func add(_ keyPath: String) async throws {
        let added: ProcessRunner.Outcome
        if let user {
            added = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", user, "--", "/usr/bin/env", "SSH_AUTH_SOCK=\(socketPath)",
                                                                      "/usr/bin/ssh-add", "-q", keyPath])
        } else {
            added = try await ProcessRunner.run("/usr/bin/ssh-add", ["-q", keyPath], environment: environment)
        }
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

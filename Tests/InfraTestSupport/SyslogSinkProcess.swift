import Foundation
import Glibc

/// The project's test syslog sink (Tests/targets/syslog-sink.py) started by a test for itself: a unix
/// datagram socket whose every message is appended, one per line, to a file. Stopped by its saved PID.
public struct SyslogSinkProcess: Sendable {
    /// The socket the sink listens on.
    public let socketPath: String
    /// The file it writes.
    public let outputPath: String
    /// The sink's process (its PID is what stops it).
    public let process: ChildProcess

    /// Starts a sink on `socketPath` writing to `outputPath`, and waits (with a deadline) until it listens.
    public static func start(socketPath: String, outputPath: String) async throws -> SyslogSinkProcess {
        let script = LoopbackTarget.repositoryRoot + "/Tests/targets/syslog-sink.py"
        let child = try ChildProcess.start("/usr/bin/python3", [script, socketPath, outputPath], newSession: true)
        let sink = SyslogSinkProcess(socketPath: socketPath, outputPath: outputPath, process: child)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            var status = stat()
            if stat(socketPath, &status) == 0 && (status.st_mode & S_IFMT) == S_IFSOCK { return sink }
            try await Task.sleep(for: .milliseconds(50))
        }
        sink.stop()
        throw LoopbackTarget.TargetError(message: "syslog sink did not bind \(socketPath) within 30 s")
    }

    /// What the sink wrote so far.
    public func text() -> String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Waits until the sink's file satisfies `done`, or `seconds` pass; returns whether it did.
    public func wait(seconds: Int, until done: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if done(text()) { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return done(text())
    }

    /// Stops the sink (by its PID) and removes its socket.
    public func stop() {
        kill(process.pid, SIGTERM)
        _ = process.waitBlocking()
        unlink(socketPath)
    }
}

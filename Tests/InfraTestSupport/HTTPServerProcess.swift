import Foundation
import Glibc
import InfraApp

/// `mcp-linux-infra serve --http 127.0.0.1:0` started by a test for itself, its stderr in a file; the port
/// the system chose is read from the line the server logs once it listens. Stopped by its saved PID.
public struct HTTPServerProcess: Sendable {
    /// The server's process.
    public let process: ChildProcess
    /// `http://127.0.0.1:PORT`.
    public let baseURL: String
    /// The file that holds the server's stderr.
    public let stderrPath: String

    /// Starts the server with `envFile` (and `environment` added), and waits with a deadline until it listens.
    public static func start(envFile: String, stderrPath: String, environment: [String: String] = [:],
                             arguments: [String] = []) async throws -> HTTPServerProcess {
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let child = try ChildProcess.start(productBinary(), ["serve", "--http", "127.0.0.1:0", "--env-file", envFile] + arguments,
                                           environment: env, stderr: stderrPath, newSession: true)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /mcp=http:\/\/(127\.0\.0\.1:[0-9]+)\/mcp/) {
                return HTTPServerProcess(process: child, baseURL: "http://" + match.1, stderrPath: stderrPath)
            }
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                throw LoopbackTarget.TargetError(message: "serve --http ended before listening: \(text.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(child.pid, SIGKILL)
        _ = await child.wait()
        throw LoopbackTarget.TargetError(message: "serve --http did not listen within 60 s")
    }

    /// What the server wrote on stderr so far.
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits for the exit (SIGKILL after `seconds`); returns the exit status.
    @discardableResult
    public func stop(within seconds: Int = 60) async -> Int32 {
        kill(process.pid, SIGTERM)
        let pid = process.pid
        let killer = Task {
            try await Task.sleep(for: .seconds(seconds))
            kill(pid, SIGKILL)
        }
        let status = await process.wait()
        killer.cancel()
        return status
    }
}

import Foundation

/// Runs a program with an argument vector (never a shell string) and collects its output via files,
/// so large outputs cannot deadlock on pipes.
public enum ProcessRunner {
    private static let launchLock = NSLock()

    /// Starts `process`, one launch at a time in this test process. Foundation's `Process.run()` on Linux
    /// crashed once (a bad pointer in memcpy inside `run()`) while other tests launched processes at the same
    /// moment; launches are serialized, the waiting is not.
    public static func launch(_ process: Process) throws {
        try launchLock.withLock { try process.run() }
    }

    /// What a finished program left behind.
    public struct Outcome: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `executable` with `arguments` and waits for it.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           currentDirectory: String? = nil) async throws -> Outcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        // Wait without blocking a thread of Swift's cooperative pool.
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in done.resume() }
            do { try launch(process) } catch {
                process.terminationHandler = nil
                done.resume(throwing: error)
            }
        }
        return Outcome(status: process.terminationStatus,
                       stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}

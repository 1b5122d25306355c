import Foundation
import InfraApp

/// Runs a program with an argument vector (never a shell) and collects its output via files, so large
/// outputs cannot deadlock on pipes. Programs start through ``ChildProcess`` (posix_spawn), not Foundation's
/// `Process`, whose `run()` crashes now and then on Linux in a process with many descriptors open.
public enum ProcessRunner {
    /// What a finished program left behind.
    public typealias Outcome = ChildProcess.Outcome

    /// Runs `executable` with `arguments` and waits for it.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           currentDirectory: String? = nil, input: Data? = nil) async throws -> Outcome {
        try await ChildProcess.run(executable, arguments, environment: environment, currentDirectory: currentDirectory, input: input)
    }
}

/// Tests start long-running programs (servers, agents) the same way.
public typealias ChildProcess = InfraApp.ChildProcess

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

/// Account changes (useradd, usermod, userdel, groupadd, groupdel) one at a time across every test and
/// loopback target: many at once exceed shadow's own 15 s lock on /etc/passwd under load.
public enum AccountTools {
    /// Runs `/usr/sbin/TOOL ARGUMENTS` under the lock that Tests/targets/loopback-target.sh takes too.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) async throws -> ProcessRunner.Outcome {
        try FileManager.default.createDirectory(atPath: "/run/mcp-infra-tests", withIntermediateDirectories: true)
        return try await ProcessRunner.run("/usr/bin/flock", ["-w", "300", "/run/mcp-infra-tests/.accounts.lock", "/usr/sbin/" + tool] + arguments)
    }
}

/// Tests start long-running programs (servers, agents) the same way.
public typealias ChildProcess = InfraApp.ChildProcess

import CSpawn
import Foundation
import Glibc

/// A program started with an argument vector (never a shell) through posix_spawn, with every descriptor
/// above stderr closed in the child. Used instead of Foundation's `Process`, whose `run()` on Linux
/// over-reads `/proc/self/fd` entries and crashes now and then in a process with many descriptors open
/// (swift-corelibs-foundation PR 5472, not in the toolchain we build with).
public struct ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t

    /// Why a program could not be started.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// What a finished program left behind.
    public struct Outcome: Sendable {
        /// The exit status, or 128 + the signal that ended it.
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Starts `executable`. Standard streams come from and go to files (nil: /dev/null); the environment is
    /// exactly `environment` (nil: this process's).
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                             currentDirectory: String? = nil, stdin: String? = nil, stdout: String? = nil, stderr: String? = nil,
                             newSession: Bool = false) throws(StartError) -> ChildProcess {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = cspawn_start(&pid, executable, argv, envp, stdin, stdout, stderr, currentDirectory, newSession ? 1 : 0)
        guard rc == 0 else { throw StartError(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid)
    }

    /// Waits for the child to end, on a thread of its own (never one of Swift's cooperative pool).
    public func wait() async -> Int32 {
        await withCheckedContinuation { (done: CheckedContinuation<Int32, Never>) in
            let pid = self.pid
            let waiter = Thread { done.resume(returning: Self.waitBlocking(pid)) }
            waiter.name = "wait \(pid)"
            waiter.start()
        }
    }

    /// Waits for the child to end, blocking the calling thread.
    public func waitBlocking() -> Int32 { Self.waitBlocking(pid) }

    static func waitBlocking(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Runs `executable` to its end and collects its output (through files, so no pipe can fill and stall it).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           currentDirectory: String? = nil, input: Data? = nil) async throws -> Outcome {
        let files = try Scratch(input: input)
        defer { files.remove() }
        let child = try start(executable, arguments, environment: environment, currentDirectory: currentDirectory,
                              stdin: files.input, stdout: files.output, stderr: files.errors)
        let status = await child.wait()
        return files.outcome(status)
    }

    /// The same, blocking the calling thread (for the CLI's few short programs).
    public static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                                   input: Data? = nil) throws -> Outcome {
        let files = try Scratch(input: input)
        defer { files.remove() }
        let child = try start(executable, arguments, environment: environment, stdin: files.input, stdout: files.output, stderr: files.errors)
        return files.outcome(child.waitBlocking())
    }

    /// A private folder for one run's standard streams.
    struct Scratch {
        let folder: String
        var input: String? = nil
        var output: String { folder + "/out" }
        var errors: String { folder + "/err" }

        init(input data: Data?) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            if let data {
                input = folder + "/in"
                FileManager.default.createFile(atPath: folder + "/in", contents: data, attributes: [.posixPermissions: 0o600])
            }
        }

        func outcome(_ status: Int32) -> Outcome {
            Outcome(status: status, stdout: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "",
                    stderr: (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
        }

        func remove() { try? FileManager.default.removeItem(atPath: folder) }
    }
}

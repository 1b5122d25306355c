import ArgumentParser
import Foundation
import InfraDomain
import InfraSSH

// What the benchmarks (infra-bench, call-bench) share: OpenSSH run as separate processes, posix_spawn, medians.

/// A benchmark step that did not work.
public struct BenchError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    /// A failure with its message.
    public init(message: String) {
        self.message = message
    }
}

/// Parses and runs a benchmark command, then ends the process only after the last SSH I/O thread
/// (docs/ARCHITECTURE.md): an error's message goes to stderr and sets the exit status.
public func runThenEnd<Command: AsyncParsableCommand>(_ command: Command.Type) async -> Never {
    var failure: (any Error)?
    do {
        var parsed = try Command.parseAsRoot()
        if var asyncCommand = parsed as? any AsyncParsableCommand { try await asyncCommand.run() } else { try parsed.run() }
    } catch {
        failure = error
    }
    await SSHRuntime.finish(within: .seconds(2))
    guard let failure else { SSHRuntime.endProcess(status: 0) }
    let status = Command.exitCode(for: failure).rawValue
    (status == 0 ? FileHandle.standardOutput : FileHandle.standardError).write(Data((Command.fullMessage(for: failure) + "\n").utf8))
    SSHRuntime.endProcess(status: status)
}

/// The median of `samples`, in milliseconds.
public func median(_ samples: [Duration]) -> Double {
    let ms = samples.map(milliseconds).sorted()
    guard !ms.isEmpty else { return .nan }
    return ms.count % 2 == 1 ? ms[ms.count / 2] : (ms[ms.count / 2 - 1] + ms[ms.count / 2]) / 2
}

/// A duration in (fractional) milliseconds.
public func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// The OpenSSH client, run as separate processes exactly as an operator would.
public struct OpenSSH: Sendable {
    public let host: InventoryHost
    public let user: String
    public let privateKeyPath: String
    public let knownHosts: String

    /// A client for `user` at `host` with one key file, checking the host against `knownHosts`.
    public init(host: InventoryHost, user: String, privateKeyPath: String, knownHosts: String) {
        self.host = host
        self.user = user
        self.privateKeyPath = privateKeyPath
        self.knownHosts = knownHosts
    }

    var baseArguments: [String] {
        ["-i", privateKeyPath, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
         "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
         "-p", String(host.port), "-l", user]
    }

    /// Runs one `ssh` to completion and returns its exit status.
    public func run(_ request: String, extra: [String]) async throws -> Int32 {
        let pid = try Spawn.start("/usr/bin/ssh", extra + baseArguments + [host.address, request])
        return Spawn.wait(pid)
    }

    /// A ControlMaster in the foreground (`-M -N`), our child, stopped by its PID.
    public struct Master: Sendable {
        public let pid: pid_t
        public let socket: String

        /// Stops the master by its PID and removes its socket.
        public func stop() async {
            kill(pid, SIGTERM)
            _ = Spawn.wait(pid)
            try? FileManager.default.removeItem(atPath: socket)
        }
    }

    /// Starts a ControlMaster on a socket of its own (`tag` tells several apart) and waits for the socket.
    public func startMaster(tag: String = "cm") async throws -> Master {
        let socket = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(tag)-\(getpid()).sock").path
        let pid = try Spawn.start("/usr/bin/ssh", ["-M", "-N", "-S", socket, "-o", "ControlPersist=no"] + baseArguments + [host.address])
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: socket) {
            try await Task.sleep(for: .milliseconds(10))
        }
        return Master(pid: pid, socket: socket)
    }
}

/// posix_spawn with stdio on /dev/null, and waitpid: the plainest way to run a program.
public enum Spawn {
    /// posix_spawn's error number.
    public struct Failure: Error { public let code: Int32 }

    /// Starts `path` with `arguments` (no shell) and returns its PID.
    public static func start(_ path: String, _ arguments: [String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // Threads of Swift's runtime block most signals, and a spawned child inherits that mask: reset it,
        // or the child ignores SIGTERM (and OpenSSH's mux client never finishes).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw Failure(code: rc) }
        return pid
    }

    /// Waits for `pid` and returns its exit status (128 + the signal when a signal ended it).
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

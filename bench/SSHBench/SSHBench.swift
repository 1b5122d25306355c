import ArgumentParser
import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import Logging

/// Measures mcp-linux-infra's SSH core against OpenSSH, side by side against the same target and
/// forced command, and prints medians and ratios. Not a test: numbers vary with the machine.
@main
struct SSHBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "infra-bench",
                                                    abstract: "Pooled and cold SSH exec: mcp-linux-infra vs OpenSSH.")

    @Option(help: "The .env of the target (the loopback target writes one).")
    var envFile: String

    @Option(help: "Measured runs per scenario.")
    var iterations = 50

    @Option(help: "The forced-command request to run.")
    var request = "version"

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        let configuration = try ConfigurationLoader.load(environment: [:], envFile: envFile)
        let host = configuration.inventory.hosts[0]
        let credentials = configuration.reader
        let logger = Logger(label: "bench")
        let openssh = OpenSSH(host: host, credentials: credentials, knownHosts: configuration.settings.knownHostsPath)

        progress("pooled exec")
        // (a) one pooled session, a channel per exec  vs  OpenSSH ControlMaster, one ssh process per exec.
        let pooled = try await Self.withPool(configuration, logger: logger) { pool in
            _ = try await pool.execute(host: host, credentials: credentials, command: request)
            var samples: [Duration] = []
            for _ in 0..<iterations {
                let start = ContinuousClock.now
                let result = try await pool.execute(host: host, credentials: credentials, command: request)
                samples.append(start.duration(to: .now))
                guard result.exitCode == 0 else { throw BenchError(message: "pooled exec failed: \(result.stderrText)") }
            }
            return samples
        }
        progress("ControlMaster exec")
        let master = try await openssh.startMaster()
        _ = try await openssh.run(request, extra: ["-S", master.socket])
        var controlMaster: [Duration] = []
        for _ in 0..<iterations {
            let start = ContinuousClock.now
            let status = try await openssh.run(request, extra: ["-S", master.socket])
            controlMaster.append(start.duration(to: .now))
            precondition(status == 0, "ControlMaster exec failed")
        }
        await master.stop()

        progress("cold connect+exec")
        // (b) cold connect + handshake + auth + exec  vs  a cold `ssh` with curve25519 key exchange.
        var cold: [Duration] = []
        for _ in 0..<iterations {
            let start = ContinuousClock.now
            let result = try await Self.withPool(configuration, logger: logger) { fresh in
                let result = try await fresh.execute(host: host, credentials: credentials, command: request)
                cold.append(start.duration(to: .now))
                return result
            }
            guard result.exitCode == 0 else { throw BenchError(message: "cold exec failed: \(result.stderrText)") }
        }
        var coldSSH: [Duration] = []
        for _ in 0..<iterations {
            let start = ContinuousClock.now
            let status = try await openssh.run(request, extra: ["-o", "KexAlgorithms=curve25519-sha256", "-o", "ControlMaster=no",
                                                                "-o", "ControlPath=none"])
            coldSSH.append(start.duration(to: .now))
            precondition(status == 0, "cold ssh failed")
        }

        print("scenario                          mcp-linux-infra   OpenSSH           ratio   goal")
        report("pooled exec vs ControlMaster", pooled, controlMaster, goal: 1.0)
        report("cold connect+exec vs cold ssh", cold, coldSSH, goal: 0.5)
        print("(medians of \(iterations) runs each, request '\(request)', target \(host.address):\(host.port))")
    }

    /// Runs `body` on a new pool of `configuration`'s settings, shut down before it returns or throws.
    static func withPool<T>(_ configuration: LoadedConfiguration, logger: Logger,
                            _ body: (SSHPool) async throws -> T) async throws -> T {
        try await SSHPool.with(options: SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys,
                               logger: logger, body)
    }

    /// Runs the benchmark, then ends the process only after the last SSH session thread (docs/ARCHITECTURE.md).
    static func main() async {
        var failure: (any Error)?
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch {
            failure = error
        }
        await SSHRuntime.finish(within: .seconds(2))
        guard let failure else { SSHRuntime.endProcess(status: 0) }
        let status = exitCode(for: failure).rawValue
        (status == 0 ? FileHandle.standardOutput : FileHandle.standardError).write(Data((fullMessage(for: failure) + "\n").utf8))
        SSHRuntime.endProcess(status: status)
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("measuring: \(text)\n".utf8))
    }

    private func report(_ name: String, _ ours: [Duration], _ theirs: [Duration], goal: Double) {
        let a = Self.median(ours), b = Self.median(theirs)
        let ratio = a / b
        let verdict = ratio <= goal ? "met" : "MISSED"
        print(name.padding(toLength: 34, withPad: " ", startingAt: 0)
              + String(format: "%8.2f ms       %8.2f ms       %5.2f   <= %.1f %@", a, b, ratio, goal, verdict))
    }

    static func median(_ samples: [Duration]) -> Double {
        let ms = samples.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }.sorted()
        return ms.count % 2 == 1 ? ms[ms.count / 2] : (ms[ms.count / 2 - 1] + ms[ms.count / 2]) / 2
    }
}

/// A benchmark step that did not work.
struct BenchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The OpenSSH client, run as separate processes exactly as an operator would.
struct OpenSSH {
    let host: InventoryHost
    let credentials: AccountCredentials
    let knownHosts: String

    var baseArguments: [String] {
        ["-i", credentials.privateKeyPath ?? "", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
         "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
         "-p", String(host.port), "-l", credentials.user]
    }

    /// Runs one `ssh` to completion and returns its exit status.
    func run(_ request: String, extra: [String]) async throws -> Int32 {
        let pid = try Spawn.start("/usr/bin/ssh", extra + baseArguments + [host.address, request])
        return Spawn.wait(pid)
    }

    /// A ControlMaster in the foreground (`-M -N`), our child, stopped by its PID.
    struct Master {
        let pid: pid_t
        let socket: String
        func stop() async {
            kill(pid, SIGTERM)
            _ = Spawn.wait(pid)
            try? FileManager.default.removeItem(atPath: socket)
        }
    }

    func startMaster() async throws -> Master {
        let socket = FileManager.default.temporaryDirectory.appendingPathComponent("bench-cm-\(getpid()).sock").path
        let pid = try Spawn.start("/usr/bin/ssh", ["-M", "-N", "-S", socket, "-o", "ControlPersist=no"] + baseArguments + [host.address])
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: socket) {
            try await Task.sleep(for: .milliseconds(10))
        }
        return Master(pid: pid, socket: socket)
    }
}

/// posix_spawn with stdio on /dev/null, and waitpid: the plainest way to run a program.
enum Spawn {
    struct Failure: Error { let code: Int32 }

    static func start(_ path: String, _ arguments: [String]) throws -> pid_t {
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

    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

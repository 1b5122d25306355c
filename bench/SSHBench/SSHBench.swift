import ArgumentParser
import BenchSupport
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
        let openssh = OpenSSH(host: host, user: credentials.user, privateKeyPath: credentials.privateKeyPath ?? "",
                              knownHosts: configuration.settings.knownHostsPath)

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
        await runThenEnd(Self.self)
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("measuring: \(text)\n".utf8))
    }

    private func report(_ name: String, _ ours: [Duration], _ theirs: [Duration], goal: Double) {
        let a = median(ours), b = median(theirs)
        let ratio = a / b
        let verdict = ratio <= goal ? "met" : "MISSED"
        print(name.padding(toLength: 34, withPad: " ", startingAt: 0)
              + String(format: "%8.2f ms       %8.2f ms       %5.2f   <= %.1f %@", a, b, ratio, goal, verdict))
    }
}

import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Logging
import Testing

@Suite("The session pool (real loopback sshd)", requiresRoot)
struct PoolTests {
    @Test("A host that accepts TCP but never answers: with one handshake slot, 12 concurrent calls all fail within their deadline")
    func everyWaitHasADeadline() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration()
            var options = SSHPoolOptions(settings: configuration.settings)
            options.maxHandshakesPerHost = 1
            options.maxSessionsPerHost = 1
            options.connectTimeout = .milliseconds(700)
            // SIGSTOP the listener: the kernel still completes TCP handshakes, but no banner ever comes.
            #expect(kill(target.sshdPID, SIGSTOP) == 0)
            defer { kill(target.sshdPID, SIGCONT) }
            try await withPool(configuration, options: options) { pool in
                let host = configuration.loopbackHost
                let started = ContinuousClock.now
                let outcomes = await withTaskGroup(of: (Duration, String).self) { group in
                    for _ in 0..<12 {
                        group.addTask {
                            let begin = ContinuousClock.now
                            do {
                                _ = try await pool.execute(host: host, credentials: configuration.reader, command: "version",
                                                           timeout: .seconds(2))
                                return (begin.duration(to: .now), "answered")
                            } catch {
                                return (begin.duration(to: .now), String(describing: error))
                            }
                        }
                    }
                    var all: [(Duration, String)] = []
                    for await outcome in group { all.append(outcome) }
                    return all
                }
                #expect(outcomes.count == 12)
                // Each call's own deadline is 2 s; generous slack for a loaded machine, far below "forever".
                #expect(outcomes.allSatisfy { $0.0 < .seconds(6) }, "\(outcomes)")
                #expect(outcomes.allSatisfy { $0.1.contains("timed out") && $0.1.contains("loopback") }, "\(outcomes.map(\.1))")
                #expect(outcomes.contains { $0.1.contains("handshake") }, "\(outcomes.map(\.1))")
                #expect(started.duration(to: .now) < .seconds(8))
            }
        }
    }

    @Test("shutdown while commands run: it returns within its bound, and the commands fail as shut down")
    func shutdownIsBounded() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration()
            let pool = SSHPool(options: SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys,
                               logger: Logger(label: "test"))
            let host = configuration.loopbackHost
            let running = (0..<4).map { _ in
                Task { () -> String in
                    do {
                        _ = try await pool.execute(host: host, credentials: configuration.reader, command: "sleep 30")
                        return "finished"
                    } catch {
                        return String(describing: error)
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(800))   // the commands are running on the host
            let started = ContinuousClock.now
            await pool.shutdown(within: .seconds(2))
            // Within its 2 s, with slack for a loaded machine, far below the commands' 30 s.
            #expect(started.duration(to: .now) < .seconds(12))
            for task in running {
                let outcome = await task.value
                #expect(outcome.contains("shut down"), "\(outcome)")
            }
            await #expect(throws: SSHError.self) {
                _ = try await pool.execute(host: host, credentials: configuration.reader, command: "version")
            }
        }
    }

    @Test("32 concurrent commands over both accounts complete correctly; the cooperative pool stays responsive")
    func concurrencyKeepsCooperativePoolFree() async throws {
        // Exclusive: measured while no other test's load shares the two cores.
        try await LoopbackTarget.with(exclusive: true) { target in
            let configuration = try target.configuration()
            try await withPool(configuration) { pool in
                let host = configuration.loopbackHost
                let heartbeat = Heartbeat()
                let beating = Task { await heartbeat.run() }
                let results = try await withThrowingTaskGroup(of: (Int, ExecResultSummary).self) { group in
                    for index in 0..<32 {
                        let credentials = index % 2 == 0 ? configuration.reader : configuration.runner
                        let command = index % 4 < 2 ? "sleep 1" : "flood 300000 300000"
                        group.addTask {
                            let result = try await pool.execute(host: host, credentials: credentials, command: command)
                            return (index, ExecResultSummary(result))
                        }
                    }
                    var all: [Int: ExecResultSummary] = [:]
                    for try await (index, summary) in group { all[index] = summary }
                    return all
                }
                await heartbeat.stop()
                _ = await beating.value
                #expect(results.count == 32)
                for (index, summary) in results {
                    #expect(summary.exitCode == 0)
                    if index % 4 < 2 {
                        #expect(summary.stdoutCount == 0)
                    } else {
                        #expect(summary.stdoutCount == 300_000)
                        #expect(summary.stderrCount == 300_000)
                    }
                }
                let worst = await heartbeat.worstDelay
                // A starved cooperative pool delays the heartbeat by whole seconds; a busy machine by a few tens of ms.
                #expect(worst < .milliseconds(500), "heartbeat delayed by \(worst)")
                #expect(await heartbeat.beats > 20)
                // Bounded: never more sessions than configured per host and account.
                #expect(await pool.openSessionCount(host: "loopback", user: target.readerUser) <= pool.options.maxSessionsPerHost)
            }
        }
    }

    @Test("Killing the sshd side of a pooled session: the next call reconnects transparently")
    func reconnectsAfterDeadSession() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration()
            try await withPool(configuration) { pool in
                let host = configuration.loopbackHost
                let first = try await pool.execute(host: host, credentials: configuration.reader, command: "echo first")
                #expect(first.stdoutText == "first\n")
                let victims = target.connectionPIDs()
                #expect(!victims.isEmpty)
                for pid in victims { kill(pid, SIGKILL) }
                let second = try await pool.execute(host: host, credentials: configuration.reader, command: "echo second")
                #expect(second.stdoutText == "second\n")
                let logins = target.sshdLogText().components(separatedBy: "Accepted publickey for \(target.readerUser)").count - 1
                #expect(logins == 2)
            }
        }
    }

    @Test("Sessions are reused: many sequential calls, one login")
    func sessionsAreReused() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration()
            try await withPool(configuration) { pool in
                for index in 0..<20 {
                    let result = try await pool.execute(host: configuration.loopbackHost, credentials: configuration.reader,
                                                        command: "echo \(index)")
                    #expect(result.stdoutText == "\(index)\n")
                }
            }
            let logins = target.sshdLogText().components(separatedBy: "Accepted publickey").count - 1
            #expect(logins == 1)
        }
    }

    @Test("Idle sessions are closed after the idle timeout, and a later call opens a new one")
    func idleEviction() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration(["LINUX_MCP_POOL_IDLE_SECONDS": "1"])
            try await withPool(configuration) { pool in
                let host = configuration.loopbackHost
                _ = try await pool.execute(host: host, credentials: configuration.reader, command: "echo a")
                #expect(await pool.openSessionCount(host: "loopback", user: target.readerUser) == 1)
                try await Task.sleep(for: .milliseconds(1600))
                #expect(await pool.openSessionCount(host: "loopback", user: target.readerUser) == 0)
                let again = try await pool.execute(host: host, credentials: configuration.reader, command: "echo b")
                #expect(again.stdoutText == "b\n")
            }
        }
    }
}

/// The parts of a result the concurrency test checks.
struct ExecResultSummary: Sendable {
    var exitCode: Int32?
    var stdoutCount: Int
    var stderrCount: Int
    init(_ result: ExecResult) {
        exitCode = result.exitCode
        stdoutCount = result.stdout.count
        stderrCount = result.stderr.count
    }
}

/// A task on the cooperative pool that wakes every 10 ms and records how late it woke.
actor Heartbeat {
    private(set) var worstDelay: Duration = .zero
    private(set) var beats = 0
    private var running = true

    func run() async {
        while running {
            let before = ContinuousClock.now
            try? await Task.sleep(for: .milliseconds(10))
            let late = before.duration(to: .now) - .milliseconds(10)
            worstDelay = max(worstDelay, late)
            beats += 1
        }
    }

    func stop() { running = false }
}

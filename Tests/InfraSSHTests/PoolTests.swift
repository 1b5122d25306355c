import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

@Suite("The session pool (real loopback sshd)", requiresRoot)
struct PoolTests {
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
                #expect(worst < .milliseconds(50), "heartbeat delayed by \(worst)")
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

import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

/// The SSH I/O core at scale: many sessions and many concurrent calls on a fixed, small number of threads.
///
/// A real loopback sshd answers on 16 loopback addresses (sshd listens on at most 16 sockets); the pool sees
/// 50 inventory hosts over them, each with sessions of its own, as it would see 50 machines.
@Suite("The SSH I/O core at scale (real loopback sshd)", .serialized, requiresRoot)
struct IOCoreScaleTests {
    @Test("500 concurrent calls over 50 hosts all answer within their deadline, on at most LINUX_MCP_SSH_IO_THREADS threads")
    func fiveHundredCallsOverFiftyHosts() async throws {
        try await LoopbackTarget.with(extraArguments: ["--hosts", "16"], exclusive: true) { target in
            let configuration = try target.configuration(["LINUX_MCP_SSH_IO_THREADS": "2"])
            let template = configuration.inventory.hosts[0]
            let hosts = (0..<50).map { index -> InventoryHost in
                var host = template
                host.name = "n\(index)"
                host.address = "127.0.0.\(index % 16 + 1)"
                return host
            }
            let deadline = Duration.seconds(120)
            try await withPool(configuration) { pool in
                let sampler = ThreadSampler()
                let sampling = Task { await sampler.run() }
                let results = try await Self.burst(500, on: pool, hosts: hosts, as: configuration.reader, deadline: deadline)
                await sampler.stop()
                _ = await sampling.value
                #expect(results.count == 500)
                for (index, result) in results {
                    #expect(result.exitCode == 0, "call \(index): \(result.stderrText)")
                    #expect(result.stdoutText == (index % 10 == 0 ? "" : "\(index)\n"), "call \(index)")
                    #expect(result.duration < deadline)
                }
                // Every host got sessions of its own, and all of them ran on the configured threads.
                var open = 0
                for host in hosts { open += await pool.openSessionCount(host: host.name, user: target.readerUser) }
                #expect(open >= hosts.count, "open sessions: \(open)")
                #expect(await pool.ioThreadsRunning <= 2)
                let most = await sampler.mostIOThreads
                #expect(most == 2, "SSH I/O threads seen at once: \(most) (50 hosts spread over both loops)")
            }
        }
    }

    @Test("200 concurrent calls to one host all answer within their deadline; sessions and channels stay within their caps")
    func twoHundredCallsToOneHost() async throws {
        try await LoopbackTarget.with(exclusive: true) { target in
            let configuration = try target.configuration()
            let host = configuration.loopbackHost
            let deadline = Duration.seconds(120)
            try await withPool(configuration) { pool in
                let results = try await Self.burst(200, on: pool, hosts: [host], as: configuration.reader, deadline: deadline)
                #expect(results.count == 200)
                for (index, result) in results {
                    #expect(result.exitCode == 0, "call \(index): \(result.stderrText)")
                    #expect(result.stdoutText == (index % 10 == 0 ? "" : "\(index)\n"), "call \(index)")
                    #expect(result.duration < deadline)
                }
                #expect(await pool.openSessionCount(host: host.name, user: target.readerUser) <= pool.options.maxSessionsPerHost)
                #expect(await pool.ioThreadsRunning <= pool.options.ioThreads)
            }
            // Queued calls waited for a free channel instead of opening more sessions than the cap.
            let logins = target.sshdLogText().components(separatedBy: "Accepted publickey for \(target.readerUser)").count - 1
            #expect(logins >= 1 && logins <= 4, "logins: \(logins)")
        }
    }

    /// `count` concurrent calls spread over `hosts`: every tenth sleeps a second, the others echo their index.
    static func burst(_ count: Int, on pool: SSHPool, hosts: [InventoryHost], as credentials: AccountCredentials,
                      deadline: Duration) async throws -> [Int: ExecResult] {
        try await withThrowingTaskGroup(of: (Int, ExecResult).self) { group in
            for index in 0..<count {
                group.addTask {
                    let command = index % 10 == 0 ? "sleep 1" : "echo \(index)"
                    return (index, try await pool.execute(host: hosts[index % hosts.count], credentials: credentials,
                                                          command: command, timeout: deadline))
                }
            }
            var all: [Int: ExecResult] = [:]
            for try await (index, result) in group { all[index] = result }
            return all
        }
    }

    @Test("With one I/O thread, a slow command on one host does not hold up calls to another")
    func oneThreadServesHostsIndependently() async throws {
        try await LoopbackTarget.with(extraArguments: ["--hosts", "2"]) { target in
            let configuration = try target.configuration(["LINUX_MCP_SSH_IO_THREADS": "1"])
            let slowHost = configuration.inventory.hosts[0]
            let quickHost = configuration.inventory.hosts[1]
            try await withPool(configuration) { pool in
                _ = try await pool.execute(host: quickHost, credentials: configuration.reader, command: "echo warm")
                let slowDone = Flag()
                let slow = Task {
                    defer { Task { await slowDone.set() } }
                    return try await pool.execute(host: slowHost, credentials: configuration.reader, command: "sleep 30",
                                                  timeout: .seconds(60))
                }
                // While the slow command runs on the only thread, twenty calls to the other host finish.
                for index in 0..<20 {
                    let result = try await pool.execute(host: quickHost, credentials: configuration.reader, command: "echo \(index)")
                    #expect(result.stdoutText == "\(index)\n")
                }
                #expect(await pool.ioThreadsRunning == 1)
                #expect(await !slowDone.isSet, "the quick calls waited for the slow one")
                slow.cancel()
            }
        }
    }
}

/// A one-way flag shared between tasks.
actor Flag {
    private(set) var isSet = false
    func set() { isSet = true }
}

/// Samples, while it runs, how many threads of this process are SSH I/O threads (named `ssh-io-N`).
actor ThreadSampler {
    private(set) var mostIOThreads = 0
    private var running = true

    func run() async {
        while running {
            mostIOThreads = max(mostIOThreads, Self.ioThreadsNow())
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() { running = false }

    static func ioThreadsNow() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let name = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return name.hasPrefix("ssh-io-")
        }.count
    }
}

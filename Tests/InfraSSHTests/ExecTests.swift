import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

@Suite("Remote commands: deadlines, output, exit status (real loopback sshd)", requiresRoot)
struct ExecTests {
    @Test("A command that outlives its deadline times out (as sent, not retryable) long before it would end, and the next call works")
    func deadline() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration()
            try await withPool(configuration) { pool in
                let host = configuration.loopbackHost
                // The session is opened first, with a generous deadline: on a loaded machine a handshake alone can take
                // seconds, and this test is about a deadline that ends a command already sent.
                let warm = try await pool.execute(host: host, credentials: configuration.reader, command: "echo warm",
                                                  timeout: .seconds(60))
                #expect(warm.stdoutText == "warm\n")
                let started = ContinuousClock.now
                let error = await #expect(throws: SSHError.self) {
                    try await pool.execute(host: host, credentials: configuration.reader, command: "sleep 300", timeout: .seconds(5))
                }
                let elapsed = started.duration(to: .now)
                // The deadline ends the wait, not the remote sleep: far before its 300 s, with slack for a loaded machine.
                #expect(elapsed < .seconds(60), "timed out after \(elapsed)")
                #expect(elapsed >= .seconds(5))
                guard case .timeout(_, _, _, let sent) = error else {
                    Issue.record("expected a timeout, got \(String(describing: error))")
                    return
                }
                #expect(sent)
                #expect(error?.isRetryable == false)
                let next = try await pool.execute(host: host, credentials: configuration.reader, command: "echo again",
                                                  timeout: .seconds(60))
                #expect(next.stdoutText == "again\n")
            }
        }
    }

    @Test("5 MB on stdout and 5 MB on stderr at once: no deadlock, both capped, truncation flagged")
    func floodIsCappedOnBothStreams() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration(["LINUX_MCP_MAX_OUTPUT_BYTES": "1048576"])
            let result = try await withPool(configuration) { pool in
                try await pool.execute(host: configuration.loopbackHost, credentials: configuration.reader,
                                       command: "flood 5000000 5000000", timeout: .seconds(30))
            }
            #expect(result.exitCode == 0)
            #expect(result.stdout.count == 1_048_576)
            #expect(result.stderr.count == 1_048_576)
            #expect(result.stdoutTruncated)
            #expect(result.stderrTruncated)
            #expect(result.stdout.allSatisfy { $0 == UInt8(ascii: "o") })
            #expect(result.stderr.allSatisfy { $0 == UInt8(ascii: "e") })
        }
    }

    @Test("Under the cap, 5 MB on each stream arrive complete and unflagged")
    func floodUnderCapIsComplete() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration(["LINUX_MCP_MAX_OUTPUT_BYTES": "8388608"])
            let result = try await withPool(configuration) { pool in
                try await pool.execute(host: configuration.loopbackHost, credentials: configuration.reader,
                                       command: "flood 5000000 5000000", timeout: .seconds(30))
            }
            #expect(result.stdout.count == 5_000_000)
            #expect(result.stderr.count == 5_000_000)
            #expect(!result.stdoutTruncated)
            #expect(!result.stderrTruncated)
        }
    }

    @Test("Exit codes 0 to 255 and deaths by signal are reported faithfully")
    func exitStatus() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration()
            try await withPool(configuration) { pool in
                let host = configuration.loopbackHost
                let codes = try await withThrowingTaskGroup(of: (Int, Int32?, String?).self) { group in
                    for code in 0...255 {
                        group.addTask {
                            let result = try await pool.execute(host: host, credentials: configuration.reader, command: "exit \(code)")
                            return (code, result.exitCode, result.exitSignal)
                        }
                    }
                    var all: [(Int, Int32?, String?)] = []
                    for try await entry in group { all.append(entry) }
                    return all
                }
                #expect(codes.count == 256)
                for (expected, code, signal) in codes {
                    #expect(code == Int32(expected))
                    #expect(signal == nil)
                }
                for name in ["TERM", "KILL", "HUP"] {
                    let result = try await pool.execute(host: host, credentials: configuration.reader, command: "signal \(name)")
                    #expect(result.exitSignal == name)
                    #expect(result.exitCode == nil)
                }
            }
        }
    }

    @Test("Bytes sent on stdin reach the command")
    func stdinIsDelivered() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration()
            let result = try await withPool(configuration) { pool in
                try await pool.execute(host: configuration.loopbackHost, credentials: configuration.runner,
                                       command: "stdin-bytes", stdin: [UInt8](repeating: 0x41, count: 300_000))
            }
            #expect(result.stdoutText == "300000\n")
        }
    }
}

import Foundation
import InfraTestSupport
import Testing

/// Issue 17, finding 5: cutting the audit log's tail after the last signed approval's anchor was invisible.
/// Now every commit of audit rows sends the head to a syslog socket (LINUX_MCP_AUDIT_WITNESS), and
/// `audit verify` checks the chain against the heads the witness recorded. The test's own syslog sink
/// stands in for the journal (these machines run no journald).
@Suite("Witnessed head: a cut audit tail is named by audit verify (real binary, real MCP client, real SQLite file)", endToEnd)
struct AuditWitnessServeTests {
    @Test("serve sends each commit's head to the sink; verify --witness passes, then fails after the last 5 rows are cut, naming the first missing row; without a witness it says none was readable")
    func cutTailIsNamed() async throws {
        try await Self.withSink { target, sink in
            let calls: [[Any]] = [
                ["list_pra_catalog", [:]],
                ["list_pending_actions", [:]],
                ["get_memory_info", ["host": "loopback"]],
                ["get_pra_action", ["id": "0000"]],
                ["list_hosts", [:]],
                ["list_pra_catalog", [:]],
            ]
            let stderrPath = target.stateDirectory + "/serve.stderr"
            let results = try await Self.serve(target, calls: calls, environment: ["LINUX_MCP_AUDIT_WITNESS": sink.socketPath], stderr: stderrPath)
            #expect(results.count == calls.count && results[2]["isError"] as? Bool == false, "\(results)")
            let serveLog = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            #expect(!serveLog.contains("LINUX_MCP_AUDIT_WITNESS"), "the witness warned although the sink listened: \(serveLog.suffix(1500))")

            // The sink has the head of the log's last row (the server's stop), in syslog form with its own identifier.
            let rows = try await Self.rows(target)
            let last = try #require(rows.last)
            let lastSeq = try #require(last["seq"] as? Int), lastHash = try #require(last["hash"] as? String)
            try #require(lastSeq >= 8, "too few rows to cut 5: \(rows.count)")
            #expect(await sink.wait(seconds: 30) { $0.contains("mcp-linux-infra-audit[") && $0.contains("]: head \(lastSeq) \(lastHash)") },
                    "the last head never reached the sink: \(sink.text().suffix(1500))")
            let witnessed = sink.text().split(separator: "\n")
            #expect(witnessed.allSatisfy { $0.hasPrefix("<13>mcp-linux-infra-audit[") }, "\(witnessed.prefix(5))")
            // One head per commit: never more heads than rows, and every head is a row of the log.
            let hashes = Dictionary(uniqueKeysWithValues: rows.compactMap { row in (row["seq"] as? Int).map { ($0, row["hash"] as? String ?? "") } })
            #expect(witnessed.count <= rows.count, "\(witnessed.count) heads for \(rows.count) rows")
            for line in witnessed {
                let words = line.split(separator: " ")
                #expect(words.count == 4 && hashes[Int(words[2]) ?? -1] == String(words[3]), "not a head of this log: \(line)")
            }

            let before = try await FaultInjectionTests.cli(target, ["audit", "verify", "--witness", sink.outputPath])
            #expect(before.status == 0, "\(before.stdout)\(before.stderr)")
            #expect(before.stdout.contains("witness: \(witnessed.count) head(s) from the witness file \(sink.outputPath) checked, every one is in the chain; newest witnessed row \(lastSeq) of \(lastSeq)"),
                    "\(before.stdout)")
            let plain = try await FaultInjectionTests.cli(target, ["audit", "verify"])
            #expect(plain.status == 0, "\(plain.stdout)\(plain.stderr)")
            #expect(plain.stdout.split(separator: "\n").contains { $0.hasPrefix("witness: none readable (")
                && $0.hasSuffix("): a cut tail after the last signed approval would not be detected") }, "\(plain.stdout)")

            // The server's account cuts the last 5 rows: the triggers forbid DELETE, so it drops them first.
            try await Self.cut(target, keepingThrough: lastSeq - 5)
            #expect(try await Self.rows(target).count == rows.count - 5)

            let after = try await FaultInjectionTests.cli(target, ["audit", "verify", "--witness", sink.outputPath])
            #expect(after.status == 1, "\(after.stdout)\(after.stderr)")
            #expect(after.stdout.contains("audit verify: FAILED"), "\(after.stdout)")
            #expect(after.stdout.contains("the witness file \(sink.outputPath) witnessed row \(lastSeq) (sha256 \(lastHash.prefix(16))…), "
                                          + "but the log ends at row \(lastSeq - 5): rows \(lastSeq - 4)–\(lastSeq) were cut (first missing row: \(lastSeq - 4))"),
                    "\(after.stdout)")
            // Without a witness the cut is invisible, and verify says plainly that nothing witnessed the head.
            let blind = try await FaultInjectionTests.cli(target, ["audit", "verify"])
            #expect(blind.stdout.contains("witness: none readable ("), "\(blind.stdout)")
        }
    }

    @Test("The server's account points LINUX_MCP_AUDIT_WITNESS elsewhere: one warning, later rows unwitnessed (and said so), but a cut into the witnessed rows is still named")
    func redirectedWitness() async throws {
        try await Self.withSink { target, sink in
            let calls: [[Any]] = [["list_pra_catalog", [:]], ["list_pending_actions", [:]], ["list_hosts", [:]]]
            _ = try await Self.serve(target, calls: calls, environment: ["LINUX_MCP_AUDIT_WITNESS": sink.socketPath], stderr: target.stateDirectory + "/first.stderr")
            let witnessed = try #require(try await Self.rows(target).last)
            let witnessedSeq = try #require(witnessed["seq"] as? Int), witnessedHash = try #require(witnessed["hash"] as? String)
            #expect(await sink.wait(seconds: 30) { $0.contains("]: head \(witnessedSeq) \(witnessedHash)") }, "\(sink.text().suffix(1000))")

            // As the attacker would through the .env: a socket nobody listens on. Five commits, one warning.
            let elsewhere = target.stateDirectory + "/nobody-listens.sock"
            _ = try await Self.serve(target, calls: calls, environment: ["LINUX_MCP_AUDIT_WITNESS": elsewhere], stderr: target.stateDirectory + "/second.stderr")
            let second = (try? String(contentsOfFile: target.stateDirectory + "/second.stderr", encoding: .utf8)) ?? ""
            let warnings = second.split(separator: "\n").filter { $0.contains("(LINUX_MCP_AUDIT_WITNESS) is unavailable") }
            #expect(warnings.count == 1 && warnings.first?.contains(elsewhere) == true, "\(second.suffix(2000))")
            let lastSeq = try #require(try await Self.rows(target).last?["seq"] as? Int)
            #expect(lastSeq == witnessedSeq + 5, "started, three calls, stopped")
            let unwitnessed = try await FaultInjectionTests.cli(target, ["audit", "verify", "--witness", sink.outputPath])
            #expect(unwitnessed.status == 0, "\(unwitnessed.stdout)")
            #expect(unwitnessed.stdout.contains("every one is in the chain; newest witnessed row \(witnessedSeq) of \(lastSeq)"), "\(unwitnessed.stdout)")

            // Cutting back into the witnessed rows is named all the same.
            try await Self.cut(target, keepingThrough: witnessedSeq - 2)
            let after = try await FaultInjectionTests.cli(target, ["audit", "verify", "--witness", sink.outputPath])
            #expect(after.status == 1, "\(after.stdout)")
            #expect(after.stdout.contains("witnessed row \(witnessedSeq) (sha256 \(witnessedHash.prefix(16))…), but the log ends at row \(witnessedSeq - 2): "
                                          + "rows \(witnessedSeq - 1)–\(witnessedSeq) were cut (first missing row: \(witnessedSeq - 1))"), "\(after.stdout)")
        }
    }

    /// A `--system` loopback target and a syslog sink of the test's own in its state folder, both stopped after `body`.
    static func withSink(_ body: (LoopbackTarget, SyslogSinkProcess) async throws -> Void) async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            let sink = try await SyslogSinkProcess.start(socketPath: target.stateDirectory + "/witness.sock",
                                                         outputPath: target.stateDirectory + "/witness.log")
            defer { sink.stop() }
            try await body(target, sink)
        }
    }

    /// Runs `serve` (with `environment` on top of the target's `.env`) and the raw MCP client making `calls`
    /// one after the other; returns each call's result.
    static func serve(_ target: LoopbackTarget, calls: [[Any]], environment: [String: String] = [:], stderr: String) async throws -> [[String: Any]] {
        let scenario: [String: Any] = ["env": environment, "calls": calls]
        let run = try await ProcessRunner.run("/usr/bin/python3", [FaultInjectionTests.rawClient, "calls", productBinary(), target.envFile, stderr,
                                                                   String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
        try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
        return try FaultInjectionTests.json(run.stdout)["results"] as? [[String: Any]] ?? []
    }

    /// Deletes every audit row after `seq`, as the server's account can: the triggers forbid DELETE, so it
    /// drops them first (with Python's sqlite3, not the product).
    static func cut(_ target: LoopbackTarget, keepingThrough seq: Int) async throws {
        let cut = try await ProcessRunner.run("/usr/bin/python3", ["-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("DROP TRIGGER audit_append_only_delete")
            db.execute("DELETE FROM audit WHERE seq > ?", (int(sys.argv[2]),))
            db.commit()
            """, target.stateDirectory + "/state/state.sqlite3", String(seq)])
        try #require(cut.status == 0, "\(cut.stderr)")
    }

    /// Every row of the target's log, as `audit export --jsonl` prints it.
    static func rows(_ target: LoopbackTarget) async throws -> [[String: Any]] {
        let export = try await FaultInjectionTests.cli(target, ["audit", "export", "--jsonl"])
        try #require(export.status == 0, "\(export.stderr)")
        return try export.stdout.split(separator: "\n").map { try FaultInjectionTests.json(String($0)) }
    }
}

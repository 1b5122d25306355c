import Foundation
import InfraTestSupport
import Testing

/// The store failing under a running server, through the real binary: the client gets no message of the
/// store's own (SQL text, paths), whichever tool met the failure; the server log has the detail.
@Suite("Store failures seen by the MCP client (real binary, sshd)", endToEnd, .serialized)
struct StoreFailureServeTests {
    @Test("The id index of the state database is corrupt: resolving an id answers an internal error, never SQLite's message")
    func corruptIdIndex() async throws {
        try await ActionBench.with { bench in
            let proposed = try await bench.propose("test_marker", ["label": "index"], "store failure: resolving an id")
            let id = try #require(proposed["id"] as? String)
            // The primary key's index (what an id prefix is looked up in) overwritten; the table and the state index stay
            // readable, so the server starts and answers.
            let script = """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1])
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                page = db.execute("PRAGMA page_size").fetchone()[0]
                root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_proposal_1'").fetchone()[0]
                db.close()
                with open(sys.argv[1], "r+b") as f:
                    f.seek((root - 1) * page)
                    f.write(b"\\xff" * page)
                """
            let corrupted = try await ProcessRunner.run("/usr/bin/python3", ["-c", script, bench.database])
            try #require(corrupted.status == 0, "\(corrupted.stderr)")
            let answers = try await bench.calls([["get_pra_action", ["id": String(id.prefix(8))]], ["execute_pra_action", ["id": id]]])
            #expect(answers.count == 2)
            for answer in answers {
                let text = answer["text"] as? String ?? ""
                #expect(answer["isError"] as? Bool == true && text.contains("internal error") && !text.contains("SQLite") && !text.contains("SELECT")
                        && !text.contains(bench.database), "the answer carries the store's own message: \(text)")
            }
            // The detail is the server log's.
            let log = (try? String(contentsOfFile: bench.state + "/serve.stderr", encoding: .utf8)) ?? ""
            #expect(log.contains("database disk image is malformed"), "\(log.suffix(1500))")
        }
    }
}

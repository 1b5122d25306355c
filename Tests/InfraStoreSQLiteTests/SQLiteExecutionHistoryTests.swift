import Foundation
import GRDB
import InfraDomain
@testable import InfraStoreSQLite
import Testing

/// What the SQLite file itself refuses since migration v4-finished-executions-immutable (issue 21's F1 on this
/// store), and that an audit log ending at the last sequence number is a refusal, not a crash (F3).
@Suite("SQLite: finished executions are history, an execution is recorded only by a claim, the last sequence number is a refusal")
struct SQLiteExecutionHistoryTests {
    static let at = Date(timeIntervalSince1970: 1_800_000_000)

    /// A claim of `id` at `at + 60` by pid 7 on host h, as ProposalRules writes it.
    static func claim(_ id: String) -> ProposalChange {
        let when = at + 60
        return ProposalChange(transition: .init(from: .approved, to: .executing, actor: "mcp:svc", reason: "claimed", at: when),
                              execution: .init(executor: "mcp:svc", owner: .init(host: "h", pid: 7, start: "s", leaseUntil: when + 30), startedAt: when),
                              audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1", proposalID: id, outcome: "EXECUTING")])
    }

    /// The error text of one statement run on the file outside the store's API (nil when it ran).
    static func refusal(_ queue: DatabaseQueue, _ sql: String) -> String? {
        do {
            try queue.write { try $0.execute(sql: sql) }
            return nil
        } catch let error as DatabaseError {
            return error.message ?? "\(error)"
        } catch {
            return "\(error)"
        }
    }

    @Test("A finished run cannot change, a running one keeps its owner and start (its lease moves), and an unclaimed proposal gets no execution")
    func executionsAreHistory() throws {
        let fixture = SQLiteFixture()
        defer { fixture.remove() }
        let database = try StateDatabase(path: fixture.path)
        #expect(try database.appliedMigrations().last == "v4-finished-executions-immutable")
        let store = SQLiteActionStore(database: database)
        let running = try SQLiteFixture.proposal(id: "3f2a9c1e-0000-4000-8000-000000000002")
        let finished = try SQLiteFixture.proposal(id: "3f2a9c1e-0000-4000-8000-000000000003")
        let queue = try DatabaseQueue(path: fixture.path)
        defer { try? queue.close() }
        let insert = "INSERT INTO execution (proposal_id, executor, owner_host, owner_pid, owner_start, started_at) VALUES ('%@', 'mcp:thief', 'h', 1, 's', 0)"
        for proposal in [running, finished] {
            try store.insert(proposal.record, audit: [proposal.audit])
            // Not APPROVED: no execution may be recorded.
            #expect(Self.refusal(queue, insert.replacingOccurrences(of: "%@", with: proposal.record.id))?.contains("only by its claim") == true)
            try queue.write { try $0.execute(sql: "UPDATE proposal SET state = 'APPROVED' WHERE id = ?", arguments: [proposal.record.id]) }
            _ = try store.update(proposal.record.id) { _, _ in Self.claim(proposal.record.id) }
        }
        let end = Self.at + 90
        _ = try store.update(finished.record.id) { stored, _ in
            var run = try #require(stored.execution)
            run.finishedAt = end
            run.exitCode = 0
            run.stdout = "restarted\n"
            return ProposalChange(transition: .init(from: .executing, to: .completed, actor: "mcp:svc", reason: "exit 0", at: end), execution: run)
        }
        let before = try store.load(finished.record.id)
        for rewrite in ["stdout = 'nothing was restarted'", "exit_code = 1", "executor = 'mcp:someone-else'", "finished_at = NULL"] {
            let refused = Self.refusal(queue, "UPDATE execution SET \(rewrite) WHERE proposal_id = '\(finished.record.id)'")
            #expect(refused?.contains("finished execution is history") == true, "\(rewrite): \(refused ?? "accepted")")
        }
        #expect(try store.load(finished.record.id) == before)
        for rewrite in ["executor = 'mcp:thief'", "owner_host = 'elsewhere'", "owner_pid = 1", "owner_start = 'x'", "started_at = 5",
                        "proposal_id = 'elsewhere'"] {
            let refused = Self.refusal(queue, "UPDATE execution SET \(rewrite) WHERE proposal_id = '\(running.record.id)'")
            #expect(refused?.contains("keeps its proposal, executor, owner and start") == true, "\(rewrite): \(refused ?? "accepted")")
        }
        #expect(Self.refusal(queue, "UPDATE execution SET owner_lease_until = 42 WHERE proposal_id = '\(running.record.id)'") == nil)
        #expect(try store.load(running.record.id)?.execution?.owner.leaseUntil == Date(timeIntervalSince1970: 0.042))
    }

    @Test("An audit log whose last row has the greatest sequence number refuses the next append with an error naming LINUX_MCP_DB")
    func lastSequenceNumberIsARefusal() async throws {
        let fixture = SQLiteFixture()
        defer { fixture.remove() }
        let database = try StateDatabase(path: fixture.path)
        let queue = try DatabaseQueue(path: fixture.path)
        defer { try? queue.close() }
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO audit (seq, at, actor, kind, host, action, proposal_id, outcome, detail, previous_hash, hash)
                VALUES (?, '2027-01-15T08:00:00.000Z', 'system', 'state', 't1', '', '', 'x', '{}', 'x', 'y')
                """, arguments: [Int64.max])
        }
        do {
            try await SQLiteAuditLog(database: database).append([AuditChain.Record(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok")])
            Issue.record("a row was appended after the greatest sequence number")
        } catch let error as StoreError {
            #expect(error == .auditSequenceExhausted(Int64.max))
            #expect(error.description.contains("LINUX_MCP_DB"))
        }
        #expect(try SQLiteAuditLog(database: database).records(AuditFilter()).count == 1)
    }
}

import Foundation
import GRDB
import InfraDomain
@testable import InfraStoreSQLite
import Testing

@Suite("SQLite audit log: what the file itself refuses, and what verification then finds (the port's contract is in SQLiteStoreConformanceTests)")
struct AuditLogTests {
    @Test("Rows keep their given time and detail text; filters and the last rows read what was appended; the chain verifies")
    func search() async throws {
        let fixture = SQLiteFixture()
        defer { fixture.remove() }
        let log = SQLiteAuditLog(database: try StateDatabase(path: fixture.path))
        try await log.append([
            .init(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok", detail: ["tool": "get_system_info"], at: "2027-01-15T08:00:00.000Z"),
            .init(actor: "mcp:svc", kind: "ssh", host: "t2", outcome: "unreachable", detail: ["error": "timeout"], at: "2027-01-15T08:01:00.000Z"),
            .init(actor: "os:alice", kind: "approval", host: "t1", action: "restart_unbound", proposalID: "p1", outcome: "approved",
                  at: "2027-01-15T09:00:00.000Z"),
            .init(actor: "mcp:svc", kind: "state", host: "t1", action: "restart_unbound", proposalID: "p1", outcome: "COMPLETED",
                  at: "2027-01-15T10:00:00.000Z"),
        ])
        func seqs(_ configure: (inout AuditFilter) -> Void) throws -> [Int64] {
            var filter = AuditFilter()
            configure(&filter)
            return try log.records(filter).map(\.seq)
        }
        #expect(try seqs { $0.host = "t1" } == [1, 3, 4])
        #expect(try seqs { $0.proposalID = "p1"; $0.actor = "mcp:svc" } == [4])
        #expect(try seqs { $0.since = "2027-01-15T08:01:00.000Z"; $0.until = "2027-01-15T09:00:00.000Z" } == [2, 3])
        #expect(try seqs { $0.limit = 2 } == [3, 4])
        #expect(try seqs { $0.host = "t1"; $0.limit = 2; $0.afterSeq = 1 } == [3, 4])
        let records = try log.records(AuditFilter())
        #expect(records[0].at == "2027-01-15T08:00:00.000Z" && records[1].detail == #"{"error":"timeout"}"#)
        #expect(try AuditChain.verify(records) == nil && (try log.head()) == AuditChain.Anchor(seq: 4, hash: records[3].hash))
    }

    @Test("The file refuses UPDATE and DELETE of audit rows; with the triggers dropped, changing any byte of any row makes verification name that row")
    func tamper() async throws {
        let fixture = SQLiteFixture()
        defer { fixture.remove() }
        let database = try StateDatabase(path: fixture.path)
        let log = SQLiteAuditLog(database: database)
        let proposal = try SQLiteFixture.proposal()
        try SQLiteActionStore(database: database).insert(proposal.record, audit: [proposal.audit])
        try await log.append([.init(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok", detail: ["tool": "get_system_info"])])
        func firstBreak() throws -> Int64? { AuditChain.verify(try log.records(AuditFilter()))?.seq }
        let rows = try log.records(AuditFilter())
        #expect(try rows.count == 2 && (try firstBreak()) == nil)
        let queue = try DatabaseQueue(path: fixture.path)
        defer { try? queue.close() }
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "UPDATE audit SET outcome = 'x' WHERE seq = 1") } }
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "DELETE FROM audit WHERE seq = 1") } }
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "DELETE FROM transition") } }
        try await queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_append_only_update")
            try db.execute(sql: "DROP TRIGGER audit_append_only_delete")
        }
        for row in rows {
            for column in ["at", "actor", "kind", "host", "action", "proposal_id", "outcome", "detail", "previous_hash", "hash"] {
                let original = try await queue.read { try String.fetchOne($0, sql: "SELECT \(column) FROM audit WHERE seq = ?", arguments: [row.seq]) } ?? ""
                var bytes = Array(original.utf8)
                if bytes.isEmpty { bytes = [0x78] } else { bytes[bytes.count / 2] ^= 0x01 }
                let changed = String(decoding: bytes, as: UTF8.self)
                try await queue.write { try $0.execute(sql: "UPDATE audit SET \(column) = ? WHERE seq = ?", arguments: [changed, row.seq]) }
                #expect(try firstBreak() == row.seq, "changing \(column) of row \(row.seq)")
                try await queue.write { try $0.execute(sql: "UPDATE audit SET \(column) = ? WHERE seq = ?", arguments: [original, row.seq]) }
            }
        }
        #expect(try firstBreak() == nil)
        try await log.append([.init(actor: "mcp:svc", kind: "tool", outcome: "ok")])
        try await queue.write { try $0.execute(sql: "DELETE FROM audit WHERE seq = 2") }
        #expect(try firstBreak() == 3)
    }

    @Test("An anchor saved elsewhere catches what the chain alone cannot: rows cut off the end, and history rewritten and re-sealed")
    func anchors() async throws {
        let fixture = SQLiteFixture()
        defer { fixture.remove() }
        let log = SQLiteAuditLog(database: try StateDatabase(path: fixture.path))
        try await log.append((0..<10).map { .init(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok", detail: ["n": String($0)]) })
        let saved = try #require(try log.head())
        #expect(try saved.seq == 10 && AuditChain.check(saved, in: try log.records(AuditFilter())) == nil)
        let queue = try DatabaseQueue(path: fixture.path)
        defer { try? queue.close() }
        // Drop the delete trigger, cut the last 5 rows, put the trigger back.
        let trigger = try await queue.read { try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE name = 'audit_append_only_delete'") } ?? ""
        try await queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_append_only_delete")
            try db.execute(sql: "DELETE FROM audit WHERE seq > 5")
            try db.execute(sql: trigger)
        }
        #expect(AuditChain.verify(try log.records(AuditFilter())) == nil)   // the chain alone cannot tell
        let cut = AuditChain.check(saved, in: try log.records(AuditFilter()))
        #expect(cut?.seq == 10 && cut?.problem.contains("anchored row 10 is missing: the log ends at row 5") == true, "\(String(describing: cut))")
        // Rewritten history: row 3 changed and every later row re-sealed, so the chain is intact again.
        let older = try #require(try log.records(AuditFilter()).first { $0.seq == 5 })
        try await queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_append_only_update")
            var previous = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = 2") ?? ""
            for var record in try log.records(AuditFilter()) where record.seq >= 3 {
                if record.seq == 3 { record.detail = "{\"n\":\"rewritten\"}" }
                let sealed = AuditChain.seal(record, previousHash: previous)
                try db.execute(sql: "UPDATE audit SET detail = ?, previous_hash = ?, hash = ? WHERE seq = ?",
                               arguments: [sealed.detail, sealed.previousHash, sealed.hash, sealed.seq])
                previous = sealed.hash
            }
        }
        #expect(AuditChain.verify(try log.records(AuditFilter())) == nil)
        let rewritten = AuditChain.check(AuditChain.Anchor(seq: 5, hash: older.hash), in: try log.records(AuditFilter()))
        #expect(rewritten?.seq == 5 && rewritten?.problem.contains("history before it was rewritten") == true, "\(String(describing: rewritten))")
    }

    @Test("Times are kept to the millisecond: a proposal's dates and a decision's read back as written")
    func millisecondDates() throws {
        let fixture = SQLiteFixture()
        defer { fixture.remove() }
        let store = SQLiteActionStore(database: try StateDatabase(path: fixture.path))
        let created = Date(timeIntervalSince1970: 1_800_000_000.123)
        let proposal = try SQLiteFixture.proposal(at: created)
        try store.insert(proposal.record, audit: [proposal.audit])
        let stored = try #require(try store.load(proposal.record.id))
        #expect(stored.createdAt == created && stored.expiresAt == created + 3600 && stored.transitions.first?.at == created)
        #expect(stored == proposal.record)
    }
}

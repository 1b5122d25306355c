import Foundation
import InfraDomain
@testable import InfraStore
import Testing

@Suite("Audit log: search, tail and export read what was appended")
struct AuditLogTests {
    @Test("Filters by host, action, actor, kind, outcome, id and time range; tail gives the last rows in order")
    func search() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let database = try StateDatabase(path: fixture.path)
        let log = AuditLog(database: database)
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        let entries: [(AuditLog.Entry, TimeInterval)] = [
            (.init(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok", detail: ["tool": "get_system_info"]), 0),
            (.init(actor: "mcp:svc", kind: "ssh", host: "t2", outcome: "unreachable", detail: ["error": "timeout"]), 60),
            (.init(actor: "os:alice", kind: "approval", host: "t1", action: "restart_unbound", proposalID: "p1", outcome: "approved"), 3600),
            (.init(actor: "mcp:svc", kind: "state", host: "t1", action: "restart_unbound", proposalID: "p1", outcome: "COMPLETED"), 7200),
        ]
        try database.write { db in
            for (entry, offset) in entries { try AuditLog.append(entry, in: db, at: base + offset) }
        }
        func seqs(_ configure: (inout AuditLog.Filter) -> Void) throws -> [Int64] {
            var filter = AuditLog.Filter()
            configure(&filter)
            return try log.records(filter).map(\.seq)
        }
        #expect(try seqs { $0.host = "t1" } == [1, 3, 4])
        #expect(try seqs { $0.action = "restart_unbound" } == [3, 4])
        #expect(try seqs { $0.actor = "os:alice" } == [3])
        #expect(try seqs { $0.kind = "ssh" } == [2])
        #expect(try seqs { $0.outcome = "COMPLETED" } == [4])
        #expect(try seqs { $0.proposalID = "p1"; $0.actor = "mcp:svc" } == [4])
        #expect(try seqs { $0.since = "2027-01-15T08:01:00.000Z"; $0.until = "2027-01-15T09:00:00.000Z" } == [2, 3])
        #expect(try seqs { $0.limit = 2 } == [3, 4])
        #expect(try seqs { $0.afterSeq = 3 } == [4])
        let records = try log.records()
        #expect(records[0].at == "2027-01-15T08:00:00.000Z" && records[1].detail == #"{"error":"timeout"}"#)
        #expect(AuditChain.verify(records) == nil)
    }
}

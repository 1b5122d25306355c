import Foundation
import GRDB
import InfraDomain
import InfraApp
@testable import InfraStoreSQLite
import InfraTestSupport
import Testing

@Suite("Audit head witness: every commit that appends audit rows sends its head, once, without ever failing the commit")
struct AuditHeadWitnessTests {
    /// The one-line warnings a witness wrote.
    final class Warnings: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        var all: [String] { lock.withLock { lines } }
        func add(_ line: String) { lock.withLock { lines.append(line) } }
    }

    static func datagram(of record: AuditChain.Record) -> String {
        AuditWitness.datagram(.init(seq: record.seq, hash: record.hash), pid: getpid())
    }

    static var deadline: ContinuousClock.Instant { .now + .seconds(30) }

    @Test("A single append, a multi-row transaction, a proposal and a group-committed batch each send only their last row's head; a rollback sends none")
    func oneHeadPerCommit() async throws {
        let fixture = SQLiteFixture()
        defer { fixture.remove() }
        let warnings = Warnings()
        let socketPath = fixture.directory + "/witness.sock"
        try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        let sink = try DatagramSink(path: socketPath)
        let database = try StateDatabase(path: fixture.path, witness: AuditHeadWitness(socketPath: socketPath, warn: warnings.add))
        let log = SQLiteAuditLog(database: database)
        func last() throws -> AuditChain.Record { try #require(try log.records(AuditFilter()).last) }

        try await log.append([.init(actor: "mcp:svc", kind: "server", outcome: "started")])
        #expect(sink.next(before: Self.deadline) == Self.datagram(of: try last()))

        try await database.write { db in
            for index in 0..<3 {
                try SQLiteAuditLog.append(.init(actor: "mcp:svc", kind: "tool", outcome: "ok", detail: ["n": "\(index)"]), in: db, at: Date())
            }
        }
        #expect(try last().seq == 4)
        #expect(sink.next(before: Self.deadline) == Self.datagram(of: try last()), "three rows, one commit: one head, the last")

        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await database.write { db in
                try SQLiteAuditLog.append(.init(actor: "mcp:svc", kind: "tool", outcome: "rolled-back"), in: db, at: Date())
                throw Abort()
            }
        }
        let store = SQLiteActionStore(database: database)
        let proposal = try SQLiteFixture.proposal()
        try store.insert(proposal.record, audit: [proposal.audit])
        #expect(try last().seq == 5 && last().outcome == "PROPOSED")
        #expect(sink.next(before: Self.deadline) == Self.datagram(of: try last()), "the rolled-back row was witnessed, or the proposal was not")

        let writer = AuditRecorder(sink: log)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                group.addTask { try await writer.record(.init(actor: "mcp:svc", kind: "tool", outcome: "ok", detail: ["call": "\(index)"])) }
            }
            try await group.waitForAll()
        }
        let head = try last()
        #expect(head.seq == 105)
        let final = Self.datagram(of: head)
        let heads = AuditWitness.heads(in: sink.receive(until: { $0 == final }, before: Self.deadline).joined(separator: "\n"))
        #expect(heads.last == AuditChain.Anchor(seq: head.seq, hash: head.hash))
        #expect(heads.count <= 100 && zip(heads, heads.dropFirst()).allSatisfy { $0.seq < $1.seq }, "\(heads.map(\.seq))")
        let rows = Dictionary(uniqueKeysWithValues: try log.records(AuditFilter()).map { ($0.seq, $0.hash) })
        #expect(heads.allSatisfy { rows[$0.seq] == $0.hash })
        // A write that appends no audit row sends nothing: the next datagram is the next append's.
        _ = try store.update(proposal.record.id) { record, _ in
            ProposalChange(decision: .init(approver: "bob", approves: false, reason: "no row", digest: record.digest, at: record.createdAt))
        }
        try await log.append([.init(actor: "mcp:svc", kind: "server", outcome: "stopped")])
        #expect(sink.next(before: Self.deadline) == Self.datagram(of: try last()))
        #expect(warnings.all.isEmpty, "\(warnings.all)")
    }

    @Test("No socket: every commit stands, one warning for the whole outage, one notice when the witness answers again")
    func missingSocket() async throws {
        let fixture = SQLiteFixture()
        defer { fixture.remove() }
        let warnings = Warnings()
        let socketPath = fixture.directory + "/later.sock"
        let database = try StateDatabase(path: fixture.path, witness: AuditHeadWitness(socketPath: socketPath, warn: warnings.add))
        let log = SQLiteAuditLog(database: database)
        for index in 0..<5 { try await log.append([.init(actor: "mcp:svc", kind: "tool", outcome: "ok", detail: ["n": "\(index)"])]) }
        #expect(try log.records(AuditFilter()).count == 5)
        #expect(warnings.all.count == 1, "\(warnings.all)")
        #expect(warnings.all.first?.contains("\(socketPath) (LINUX_MCP_AUDIT_WITNESS) is unavailable") == true, "\(warnings.all)")
        #expect(warnings.all.first?.contains("Commits go on") == true)

        let sink = try DatagramSink(path: socketPath)
        try await log.append([.init(actor: "mcp:svc", kind: "tool", outcome: "ok")])
        let head = try #require(try log.records(AuditFilter()).last)
        #expect(sink.next(before: Self.deadline) == Self.datagram(of: head))
        #expect(warnings.all.count == 2 && warnings.all.last?.contains("answers again from row 6 on (5 head(s) were not witnessed)") == true,
                "\(warnings.all)")
    }
}

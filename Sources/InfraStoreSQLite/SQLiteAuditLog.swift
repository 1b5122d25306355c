import Foundation
import GRDB
import InfraDomain

/// The append-only audit log in the SQLite state database: each row sealed to the one before it
/// (InfraDomain.AuditChain). The table refuses UPDATE and DELETE by trigger; appends of one call commit in
/// one transaction, in order.
public struct SQLiteAuditLog: Sendable {
    let database: StateDatabase

    /// The log of a state database.
    public init(database: StateDatabase) {
        self.database = database
    }

    /// Appends `records` in one transaction, in order: each gets the next sequence number, the commit's time
    /// when it has none, and its hashes.
    public func append(_ records: [AuditChain.Record]) async throws {
        guard !records.isEmpty else { return }
        try await database.write { db in
            let now = Date()
            for record in records { try Self.append(record, in: db, at: now) }
        }
    }

    /// Appends inside a write transaction that is already open (a state change and its rows commit together).
    static func append(_ record: AuditChain.Record, in db: Database, at date: Date) throws {
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        var row = record
        let lastSeq = last?["seq"] as Int64? ?? 0
        let (next, overflow) = lastSeq.addingReportingOverflow(1)
        if overflow { throw StoreError.auditSequenceExhausted(lastSeq) }
        row.seq = next
        if row.at.isEmpty { row.at = AuditChain.timestamp(date) }
        let sealed = AuditChain.seal(row, previousHash: last?["hash"] ?? AuditChain.genesis)
        try db.execute(sql: """
            INSERT INTO audit (seq, at, actor, kind, host, action, proposal_id, outcome, detail, previous_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [sealed.seq, sealed.at, sealed.actor, sealed.kind, sealed.host, sealed.action, sealed.proposalID,
                             sealed.outcome, sealed.detail, sealed.previousHash, sealed.hash])
    }

    /// Rows matching `filter`, oldest first (the last `limit` ones when a limit is set).
    public func records(_ filter: AuditFilter) throws -> [AuditChain.Record] {
        var clauses: [String] = []
        var arguments: [DatabaseValueConvertible] = []
        func match(_ column: String, _ value: String?) {
            guard let value else { return }
            clauses.append("\(column) = ?")
            arguments.append(value)
        }
        match("host", filter.host)
        match("action", filter.action)
        match("actor", filter.actor)
        match("kind", filter.kind)
        match("outcome", filter.outcome)
        match("proposal_id", filter.proposalID)
        if let since = filter.since { clauses.append("at >= ?"); arguments.append(since) }
        if let until = filter.until { clauses.append("at <= ?"); arguments.append(until) }
        if let after = filter.afterSeq { clauses.append("seq > ?"); arguments.append(after) }
        if let before = filter.beforeSeq { clauses.append("seq < ?"); arguments.append(before) }
        let whereClause = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        var sql = "SELECT * FROM audit" + whereClause + " ORDER BY seq"
        if let limit = filter.limit { sql = "SELECT * FROM (SELECT * FROM audit\(whereClause) ORDER BY seq DESC LIMIT \(max(0, limit))) ORDER BY seq" }
        return try database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.record)
        }
    }

    /// The last row, or nil when the log is empty.
    public func head() throws -> AuditChain.Anchor? {
        try database.read { db in try Self.head(db) }
    }

    static func head(_ db: Database) throws -> AuditChain.Anchor? {
        try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").map { AuditChain.Anchor(seq: $0["seq"], hash: $0["hash"]) }
    }

    /// What the chain looks like inside an open transaction.
    static func view(_ db: Database) throws -> ChainView {
        ChainView(head: try head(db)) { sequence in
            try? String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [sequence])
        }
    }

    static func record(_ row: Row) -> AuditChain.Record {
        AuditChain.Record(seq: row["seq"], at: row["at"], actor: row["actor"], kind: row["kind"], host: row["host"],
                          action: row["action"], proposalID: row["proposal_id"], outcome: row["outcome"], detail: row["detail"],
                          previousHash: row["previous_hash"], hash: row["hash"])
    }
}

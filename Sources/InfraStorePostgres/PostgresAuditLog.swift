import Foundation
import InfraDomain
import PostgresNIO

/// The append-only audit log in the PostgreSQL state database: each row sealed to the one before it
/// (InfraDomain.AuditChain), appends serialized across servers by the audit lock
/// (``PostgresStateDatabase/withAuditLock(_:)``). UPDATE, DELETE and TRUNCATE are refused by trigger, and
/// for the server's and reviewers' roles by the missing GRANT (``PostgresRoles``); an INSERT that does not continue
/// the chain (the next sequence number, sealed onto the head's hash) is refused by trigger (SQLSTATE 23514).
public struct PostgresAuditLog: Sendable {
    let database: PostgresStateDatabase

    /// The log of a state database.
    public init(database: PostgresStateDatabase) {
        self.database = database
    }

    /// Appends `records` in one transaction, in order: each gets the next sequence number, the commit's time
    /// when it has none, and its hashes. It runs the synchronous transaction on the calling task's thread
    /// (a round trip per statement, as the other ports do).
    public func append(_ records: [AuditChain.Record]) async throws {
        guard !records.isEmpty else { return }
        try database.write { session in
            let now = Date()
            for record in records { try Self.append(record, in: session, at: now) }
        }
    }

    /// Appends inside a transaction that is already open, taking the audit lock first when this transaction
    /// has not appended yet (a state change and its rows commit together).
    static func append(_ record: AuditChain.Record, in session: PostgresSession, at date: Date) throws {
        let last: AuditChain.Anchor?
        if let appended = session.appendedHead {
            last = appended
        } else {
            try PostgresStateDatabase.withAuditLock(session)
            last = try head(session)
        }
        var row = record
        let (next, overflow) = (last?.seq ?? 0).addingReportingOverflow(1)
        if overflow { throw PostgresStoreError.auditSequenceExhausted(endpoint: session.endpoint, last: last?.seq ?? 0) }
        row.seq = next
        if row.at.isEmpty { row.at = AuditChain.timestamp(date) }
        let sealed = AuditChain.seal(row, previousHash: last?.hash ?? AuditChain.genesis)
        try session.run("""
            INSERT INTO audit (seq, at, actor, kind, host, action, proposal_id, outcome, detail, previous_hash, hash)
            VALUES (\(sealed.seq), \(sealed.at), \(sealed.actor), \(sealed.kind), \(sealed.host), \(sealed.action), \(sealed.proposalID),
                    \(sealed.outcome), \(sealed.detail), \(sealed.previousHash), \(sealed.hash))
            """)
        session.appendedHead = AuditChain.Anchor(seq: sealed.seq, hash: sealed.hash)
    }

    /// Rows matching `filter`, oldest first (the last `limit` ones when a limit is set).
    public func records(_ filter: AuditFilter) throws -> [AuditChain.Record] {
        var clauses: [String] = []
        var binds = PostgresBindings()
        func match(_ column: String, _ operation: String, _ value: String?) {
            guard let value else { return }
            binds.append(value)
            clauses.append("\(column) \(operation) $\(binds.count)")
        }
        func match(_ column: String, _ operation: String, _ value: Int64?) {
            guard let value else { return }
            binds.append(value)
            clauses.append("\(column) \(operation) $\(binds.count)")
        }
        match("host", "=", filter.host)
        match("action", "=", filter.action)
        match("actor", "=", filter.actor)
        match("kind", "=", filter.kind)
        match("outcome", "=", filter.outcome)
        match("proposal_id", "=", filter.proposalID)
        match("at", ">=", filter.since)
        match("at", "<=", filter.until)
        match("seq", ">", filter.afterSeq)
        match("seq", "<", filter.beforeSeq)
        let whereClause = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        var sql = "SELECT * FROM audit" + whereClause + " ORDER BY seq"
        if let limit = filter.limit {
            binds.append(Int64(max(0, limit)))
            sql = "SELECT * FROM (SELECT * FROM audit\(whereClause) ORDER BY seq DESC LIMIT $\(binds.count)) AS last ORDER BY seq"
        }
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try database.read { session in try session.rows(query).map(Self.record) }
    }

    /// The last row, or nil when the log is empty.
    public func head() throws -> AuditChain.Anchor? {
        try database.read { session in try Self.head(session) }
    }

    static func head(_ session: PostgresSession) throws -> AuditChain.Anchor? {
        try session.rows("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").first.map {
            AuditChain.Anchor(seq: try $0["seq"].decode(Int64.self), hash: try $0["hash"].decode(String.self))
        }
    }

    /// What the chain looks like inside an open transaction that holds the audit lock.
    static func view(_ session: PostgresSession) throws -> ChainView {
        ChainView(head: try head(session)) { sequence in
            try? session.rows("SELECT hash FROM audit WHERE seq = \(sequence)").first?["hash"].decode(String.self)
        }
    }

    static func record(_ row: PostgresRandomAccessRow) throws -> AuditChain.Record {
        AuditChain.Record(seq: try row["seq"].decode(Int64.self), at: try row["at"].decode(String.self), actor: try row["actor"].decode(String.self),
                          kind: try row["kind"].decode(String.self), host: try row["host"].decode(String.self),
                          action: try row["action"].decode(String.self), proposalID: try row["proposal_id"].decode(String.self),
                          outcome: try row["outcome"].decode(String.self), detail: try row["detail"].decode(String.self),
                          previousHash: try row["previous_hash"].decode(String.self), hash: try row["hash"].decode(String.self))
    }
}

import Foundation
import GRDB
import InfraDomain

/// The append-only audit log in the state database: every MCP tool call, every SSH exec and every state
/// change, each row chained to the previous one by SHA-256 (InfraDomain.AuditChain).
public struct AuditLog: Sendable {
    let database: StateDatabase

    /// The log of a state database.
    public init(database: StateDatabase) {
        self.database = database
    }

    /// What to record; the sequence number, time and hashes are added when it is appended.
    public struct Entry: Sendable {
        public var actor: String
        public var kind: String
        public var host: String
        public var action: String
        public var proposalID: String
        public var outcome: String
        /// Values only: no secret ever goes here (keys and outputs are not logged, only sizes).
        public var detail: [String: String]

        /// Creates an entry.
        public init(actor: String, kind: String, host: String = "", action: String = "", proposalID: String = "",
                    outcome: String, detail: [String: String] = [:]) {
            self.actor = actor
            self.kind = kind
            self.host = host
            self.action = action
            self.proposalID = proposalID
            self.outcome = outcome
            self.detail = detail
        }
    }

    /// Appends one entry in its own transaction.
    public func append(_ entry: Entry) throws {
        try database.write { db in try Self.append(entry, in: db) }
    }

    /// Appends inside a write transaction that is already open (so a state change and its audit row commit together).
    static func append(_ entry: Entry, in db: Database, at date: Date = Date()) throws {
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        let seq: Int64 = (last?["seq"] as Int64? ?? 0) + 1
        let previous: String = last?["hash"] ?? AuditChain.genesis
        let detail = try ProposalStore.json(entry.detail)
        let record = AuditChain.seal(.init(seq: seq, at: Self.timestamp(date), actor: entry.actor, kind: entry.kind, host: entry.host,
                                           action: entry.action, proposalID: entry.proposalID, outcome: entry.outcome, detail: detail),
                                     previousHash: previous)
        try db.execute(sql: """
            INSERT INTO audit (seq, at, actor, kind, host, action, proposal_id, outcome, detail, previous_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [record.seq, record.at, record.actor, record.kind, record.host, record.action, record.proposalID,
                             record.outcome, record.detail, record.previousHash, record.hash])
    }

    /// ISO 8601 UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Which rows a search returns; every set field must match.
    public struct Filter: Sendable {
        public var host: String?
        public var action: String?
        public var actor: String?
        public var kind: String?
        public var outcome: String?
        public var proposalID: String?
        /// ISO 8601 bounds (inclusive), compared as text (all rows are UTC with the same format).
        public var since: String?
        public var until: String?
        public var afterSeq: Int64?
        public var limit: Int?

        /// An empty filter (every row).
        public init() {}
    }

    /// Rows matching `filter`, oldest first (the last `limit` ones when a limit is set).
    public func records(_ filter: Filter = Filter()) throws -> [AuditChain.Record] {
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
        let whereClause = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        var sql = "SELECT * FROM audit" + whereClause + " ORDER BY seq"
        if let limit = filter.limit { sql = "SELECT * FROM (SELECT * FROM audit\(whereClause) ORDER BY seq DESC LIMIT \(max(0, limit))) ORDER BY seq" }
        return try database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.record)
        }
    }

    /// Recomputes the whole chain; nil when every row verifies, else the first bad row.
    public func verify(anchors: [AuditChain.Anchor] = []) throws -> (rows: Int, head: AuditChain.Anchor?, firstBreak: AuditChain.Break?) {
        try database.read { db in
            var rows = 0
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit ORDER BY seq")
            var all: [AuditChain.Record] = []
            while let row = try cursor.next() {
                all.append(Self.record(row))
                rows += 1
            }
            let head = all.last.map { AuditChain.Anchor(seq: $0.seq, hash: $0.hash) }
            if let broken = AuditChain.verify(all) { return (rows, head, broken) }
            for anchor in anchors {
                if let broken = AuditChain.check(anchor, in: all) { return (rows, head, broken) }
            }
            return (rows, head, nil)
        }
    }

    static func record(_ row: Row) -> AuditChain.Record {
        AuditChain.Record(seq: row["seq"], at: row["at"], actor: row["actor"], kind: row["kind"], host: row["host"],
                          action: row["action"], proposalID: row["proposal_id"], outcome: row["outcome"], detail: row["detail"],
                          previousHash: row["previous_hash"], hash: row["hash"])
    }
}

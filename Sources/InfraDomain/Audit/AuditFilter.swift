/// Which audit rows a search returns; every set field must match.
public struct AuditFilter: Sendable, Equatable {
    public var host: String?
    public var action: String?
    public var actor: String?
    public var kind: String?
    public var outcome: String?
    public var proposalID: String?
    /// ISO 8601 bounds (inclusive), compared as text (all rows are UTC with the same format).
    public var since: String?
    public var until: String?
    /// Only rows after this sequence number.
    public var afterSeq: Int64?
    /// The last `limit` matching rows (still oldest first).
    public var limit: Int?

    /// An empty filter (every row).
    public init() {}

    /// Whether `record` matches (what any store's query must return, in `seq` order).
    public func matches(_ record: AuditChain.Record) -> Bool {
        func same(_ wanted: String?, _ value: String) -> Bool { wanted.map { $0 == value } ?? true }
        return same(host, record.host) && same(action, record.action) && same(actor, record.actor) && same(kind, record.kind)
            && same(outcome, record.outcome) && same(proposalID, record.proposalID)
            && since.map { record.at >= $0 } ?? true && until.map { record.at <= $0 } ?? true
            && afterSeq.map { record.seq > $0 } ?? true
    }
}

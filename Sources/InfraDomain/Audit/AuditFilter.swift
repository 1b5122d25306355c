import Foundation

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
    /// Only rows before this sequence number (paging back from the newest).
    public var beforeSeq: Int64?
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
            && afterSeq.map { record.seq > $0 } ?? true && beforeSeq.map { record.seq < $0 } ?? true
    }

    /// A time bound as rows store times (ISO 8601 UTC with milliseconds), from `YYYY-MM-DD` (the day's start,
    /// or its end when `end`) or a full ISO 8601 time; nil when `text` is neither.
    public static func timeBound(_ text: String, end: Bool = false) -> String? {
        if text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) != nil { return text + (end ? "T23:59:59.999Z" : "T00:00:00.000Z") }
        return UTCTime.date(text).map(AuditChain.timestamp)
    }
}

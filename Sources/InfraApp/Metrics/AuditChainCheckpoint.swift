import Foundation
import InfraDomain

/// The audit chain checked a little at a time, for the `/metrics` gauges: the first check verifies the
/// whole log (as `audit verify` does its chain part); each later one reads only the rows after the last row
/// verified, that row included, so a rewrite that re-seals the chain from before it changes its hash and is
/// seen. Once a row fails the chain stays broken for this process (the first broken row is kept); `audit
/// verify` is still the full proof (anchors, signatures, ledgers).
public actor AuditChainCheckpoint {
    /// What the last check found.
    public struct Status: Sendable, Equatable {
        /// Rows in the log: the head's sequence number (0 when empty).
        public var rows: Int64
        /// The last row verified, nil before any.
        public var verified: AuditChain.Anchor?
        /// The first row that failed, with why; nil while the chain holds.
        public var brokenRow: Int64?
        public var problem: String?
        /// When the check ran.
        public var checkedAt: Date
    }

    private var verified: AuditChain.Anchor?
    private var broken: (seq: Int64, problem: String)?

    /// A checkpoint before any check.
    public init() {}

    /// Verifies the rows appended since the last check (all of them the first time) and returns the status.
    public func check(_ audit: any AuditSink, at date: Date) throws -> Status {
        if broken == nil {
            var filter = AuditFilter()
            if let verified { filter.afterSeq = verified.seq - 1 }
            var rows = try audit.records(filter)
            if let verified {
                if let first = rows.first, first.seq == verified.seq, first.hash == verified.hash {
                    rows.removeFirst()
                } else {
                    broken = (verified.seq, rows.first?.seq == verified.seq ? "the row changed after it was verified" : "the row was removed after it was verified")
                }
            }
            if broken == nil {
                if let problem = AuditChain.verify(rows, after: verified) {
                    broken = (problem.seq, problem.problem)
                    if let last = rows.last(where: { $0.seq < problem.seq }) { verified = AuditChain.Anchor(seq: last.seq, hash: last.hash) }
                } else if let last = rows.last {
                    verified = AuditChain.Anchor(seq: last.seq, hash: last.hash)
                }
            }
        }
        return Status(rows: try audit.head()?.seq ?? 0, verified: verified, brokenRow: broken?.seq, problem: broken?.problem, checkedAt: date)
    }
}

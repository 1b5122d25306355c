import Crypto
import Foundation

/// The audit log's tamper evidence: each record's hash covers its fields and the previous record's hash,
/// so changing, removing or reordering any row breaks every hash after it. Pure; the store keeps the rows.
public enum AuditChain {
    /// The hash before the first record.
    public static let genesis = String(repeating: "0", count: 64)

    /// One audit record as stored.
    public struct Record: Sendable, Equatable, Codable {
        public var seq: Int64
        /// ISO 8601 UTC with milliseconds.
        public var at: String
        /// Who: `os:USER` for a human at the CLI, `mcp:USER` for the MCP server's AI session, `system`.
        public var actor: String
        /// `tool`, `ssh`, `state`, `approval`, `server`.
        public var kind: String
        public var host: String
        public var action: String
        public var proposalID: String
        public var outcome: String
        /// JSON object text (sorted keys).
        public var detail: String
        public var previousHash: String
        public var hash: String

        /// A row to append: what happened, with `detail` as values (no secret ever goes there: keys and outputs
        /// are not logged, only sizes). The sink gives it its sequence number, time (when `at` is empty) and hashes.
        public init(actor: String, kind: String, host: String = "", action: String = "", proposalID: String = "",
                    outcome: String, detail: [String: String] = [:], at: String = "") {
            self.init(seq: 0, at: at, actor: actor, kind: kind, host: host, action: action, proposalID: proposalID, outcome: outcome,
                      detail: AuditChain.detailText(detail))
        }

        /// The detail as values (empty when it is not a JSON object of strings).
        public var details: [String: String] {
            (try? JSONDecoder().decode([String: String].self, from: Data(detail.utf8))) ?? [:]
        }

        /// Creates a record (the hash is whatever is given; ``AuditChain/seal(_:previousHash:)`` computes it).
        public init(seq: Int64, at: String, actor: String, kind: String, host: String, action: String, proposalID: String,
                    outcome: String, detail: String, previousHash: String = "", hash: String = "") {
            self.seq = seq
            self.at = at
            self.actor = actor
            self.kind = kind
            self.host = host
            self.action = action
            self.proposalID = proposalID
            self.outcome = outcome
            self.detail = detail
            self.previousHash = previousHash
            self.hash = hash
        }
    }

    /// The stored text of a detail: a JSON object with sorted keys.
    public static func detailText(_ detail: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(detail)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The row's time as stored: ISO 8601 UTC with milliseconds (``UTCTime``).
    public static func timestamp(_ date: Date) -> String {
        UTCTime.text(date, milliseconds: true)
    }

    /// A stored time read back (nil when it is not in the stored form).
    public static func date(_ timestamp: String) -> Date? {
        UTCTime.date(timestamp)
    }

    /// The canonical bytes of a record: every field length-prefixed, in a fixed order, then the previous hash.
    public static func canonical(_ record: Record, previousHash: String) -> String {
        let fields = [String(record.seq), record.at, record.actor, record.kind, record.host, record.action,
                      record.proposalID, record.outcome, record.detail, previousHash]
        return "audit v1\n" + fields.map { "\($0.utf8.count):\($0)\n" }.joined()
    }

    /// The record with its previous hash and its own hash set.
    public static func seal(_ record: Record, previousHash: String) -> Record {
        var sealed = record
        sealed.previousHash = previousHash
        sealed.hash = Hex.lowercase(SHA256.hash(data: Array(canonical(record, previousHash: previousHash).utf8)))
        return sealed
    }

    /// The first record that does not verify, and why.
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        public var seq: Int64
        public var problem: String
        public var description: String { "audit row \(seq): \(problem)" }
    }

    /// Recomputes the chain over records in `seq` order; nil when every record verifies.
    public static func verify<S: Sequence>(_ records: S) -> Break? where S.Element == Record {
        verify(records, after: nil)
    }

    /// Recomputes the chain over the records that follow `anchor` (a row already verified; nil: the start of
    /// the log), in `seq` order; nil when every record verifies. An incremental check reads only new rows.
    public static func verify<S: Sequence>(_ records: S, after anchor: Anchor?) -> Break? where S.Element == Record {
        var previous = anchor?.hash ?? genesis
        var expectedSeq: Int64 = (anchor?.seq ?? 0) + 1
        for record in records {
            if record.seq != expectedSeq {
                return Break(seq: record.seq, problem: "sequence jumps from \(expectedSeq - 1) to \(record.seq) (rows removed)")
            }
            if record.previousHash != previous {
                return Break(seq: record.seq, problem: "previous-hash does not match row \(record.seq - 1) (a row was changed, removed or inserted)")
            }
            let recomputed = seal(record, previousHash: previous).hash
            if recomputed != record.hash {
                return Break(seq: record.seq, problem: "content does not match its hash (the row was changed)")
            }
            previous = record.hash
            expectedSeq += 1
        }
        return nil
    }

    /// A row someone saved elsewhere (`SEQ:HASH`, as `audit verify` prints the head): the chain must still
    /// hold that row with that hash. Cutting rows off the end, or rewriting the chain from before that row
    /// and re-sealing it, keeps the chain itself intact but not the anchor.
    public struct Anchor: Sendable, Equatable, CustomStringConvertible {
        public var seq: Int64
        public var hash: String

        /// Creates an anchor.
        public init(seq: Int64, hash: String) {
            self.seq = seq
            self.hash = hash
        }

        /// Reads `SEQ:HASH` (HASH: 64 lowercase hex digits, optionally prefixed `sha256:`).
        public init?(_ text: String) {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let seq = Int64(parts[0]), seq >= 1 else { return nil }
            let hash = parts[1].hasPrefix("sha256:") ? String(parts[1].dropFirst(7)) : parts[1]
            guard hash.wholeMatch(of: /[0-9a-f]{64}/) != nil else { return nil }
            self.init(seq: seq, hash: hash)
        }

        public var description: String { "\(seq):\(hash)" }
    }

    /// Why `anchor` does not hold in `records` (ordered by seq), or nil when it does.
    public static func check<S: Sequence>(_ anchor: Anchor, in records: S) -> Break? where S.Element == Record {
        var last: Int64 = 0
        for record in records {
            last = record.seq
            if record.seq == anchor.seq {
                return record.hash == anchor.hash ? nil
                    : Break(seq: anchor.seq, problem: "row \(anchor.seq) has hash \(record.hash.prefix(16))…, not the anchored \(anchor.hash.prefix(16))… (history before it was rewritten)")
            }
        }
        return Break(seq: anchor.seq, problem: "anchored row \(anchor.seq) is missing: the log ends at row \(last) (rows were cut off the end)")
    }
}

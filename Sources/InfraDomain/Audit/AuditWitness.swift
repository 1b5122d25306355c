import Foundation
/// The audit log's head, witnessed outside the database: after every commit that appended audit rows, the
/// server sends the new head (sequence and hash of the last row) to the controller's system journal under its
/// own syslog identifier, where the server's account can add entries but not remove them. `audit verify`
/// then requires every witnessed head to still be a row of the chain with that hash, so cutting the log's
/// tail (or rewriting it) is caught even after the last signed approval's anchor. Pure: the message format,
/// reading heads back from text, and the check; sending and reading the journal are the callers' I/O.
public enum AuditWitness {
    /// The syslog identifier (journald's `SYSLOG_IDENTIFIER`) of the head messages.
    public static let identifier = "mcp-linux-infra-audit"

    /// The syslog priority: facility user (1), severity notice (5).
    public static let priority = 1 * 8 + 5

    /// The message of one head: `head SEQ HASH` (HASH: 64 lowercase hex digits). Nothing secret: a row's
    /// hash reveals nothing of its content.
    public static func message(_ head: AuditChain.Anchor) -> String {
        "head \(head.seq) \(head.hash)"
    }

    /// The datagram sent to the journal's syslog socket (`/dev/log`): `<PRI>IDENTIFIER[PID]: head SEQ HASH`.
    public static func datagram(_ head: AuditChain.Anchor, pid: Int32) -> String {
        "<\(priority)>\(identifier)[\(pid)]: \(message(head))"
    }

    /// The heads in `text`, one per line, in the order found (repeats removed). A line counts when it is
    /// exactly a head message (`journalctl -o cat`) or names the identifier and holds a head message after
    /// it (a full syslog line, `journalctl -o short` or `-o json`, a syslog sink's file); other lines are
    /// ignored, so a stray "head 1 …" from another program cannot pass for a witness.
    public static func heads(in text: String) -> [AuditChain.Anchor] {
        var found: [AuditChain.Anchor] = []
        var seen: Set<String> = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
            let text = Substring(String(trimmed))
            let candidate: Substring, headPattern = Self.headPattern
            if let match = text.wholeMatch(of: headPattern) {
                candidate = match.output
            } else if text.hasPrefix("{"), let entry = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)),
                      entry["SYSLOG_IDENTIFIER"] == identifier, let message = entry["MESSAGE"], let match = message.wholeMatch(of: headPattern) {
                // A journal entry exported as JSON (`journalctl -o json`): the identifier field, and the message alone.
                candidate = Substring(match.output)
            } else if let mark = text.firstRange(of: identifier), !text[..<mark.lowerBound].contains(": "),
                      let match = text[mark.upperBound...].wholeMatch(of: /(?:\[[0-9]{1,10}\])?: (head [0-9]{1,18} [0-9a-f]{64})/) {
                // A syslog line: the identifier in the tag position (nothing before it ends a tag), then exactly the
                // message. Text another program logged that merely contains the identifier does not count.
                candidate = match.output.1
            } else {
                continue
            }
            guard let head = parse(candidate), seen.insert(head.description).inserted else { continue }
            found.append(head)
        }
        return found
    }

    /// A head message: `head SEQ HASH`.
    static var headPattern: Regex<Substring> { /head [0-9]{1,18} [0-9a-f]{64}/ }

    static func parse(_ message: Substring) -> AuditChain.Anchor? {
        let words = message.split(separator: " ")
        guard words.count == 3, let seq = Int64(words[1]), seq >= 1 else { return nil }
        return AuditChain.Anchor(seq: seq, hash: String(words[2]))
    }

    /// What checking the witnessed heads against the log found.
    public struct Check: Sendable, Equatable {
        /// Distinct heads checked.
        public var headsChecked: Int
        /// The newest row witnessed (nil: none). Rows after it are not witnessed: far behind the log's last row,
        /// the witness stopped receiving heads (its socket was changed, or it was unreachable).
        public var newestWitnessed: Int64?
        /// Problems, most telling first: the cut tail (naming the first missing row), then rewritten rows.
        public var problems: [String]
    }

    /// Checks every witnessed head against `records` (the whole log, in `seq` order): each head must be a
    /// row of the log with the witnessed hash. `source` names the witness in the problems ("the journal").
    public static func check(_ heads: [AuditChain.Anchor], against records: [AuditChain.Record], source: String) -> Check {
        var hashes: [Int64: String] = [:]
        for record in records { hashes[record.seq] = record.hash }
        let last = records.last?.seq ?? 0
        var beyond: [AuditChain.Anchor] = []
        var rewritten: [(head: AuditChain.Anchor, stored: String?)] = []
        var distinct: Set<String> = []
        for head in heads where distinct.insert(head.description).inserted {
            if head.seq > last {
                beyond.append(head)
            } else if hashes[head.seq] != head.hash {
                rewritten.append((head, hashes[head.seq]))
            }
        }
        var problems: [String] = []
        if let furthest = beyond.max(by: { $0.seq < $1.seq }) {
            let first = last + 1
            let range = first == furthest.seq ? "row \(first) was cut" : "rows \(first)–\(furthest.seq) were cut"
            let end = last == 0 ? "the log is empty" : "the log ends at row \(last)"
            problems.append("\(source) witnessed row \(furthest.seq) (sha256 \(furthest.hash.prefix(16))…), but \(end): "
                            + "\(range) (first missing row: \(first))")
        }
        let ordered = rewritten.sorted { $0.head.seq < $1.head.seq }
        for item in ordered.prefix(5) {
            let stored = item.stored.map { "has sha256 \($0.prefix(16))…" } ?? "is missing"
            problems.append("\(source) witnessed row \(item.head.seq) with sha256 \(item.head.hash.prefix(16))…, but the log's row "
                            + "\(item.head.seq) \(stored): the row was rewritten (or the head was not this log's)")
        }
        if ordered.count > 5 {
            problems.append("\(source): \(ordered.count - 5) more witnessed rows differ (rows \(ordered[5].head.seq)–\(ordered.last!.head.seq))")
        }
        return Check(headsChecked: distinct.count, newestWitnessed: heads.map(\.seq).max(), problems: problems)
    }
}

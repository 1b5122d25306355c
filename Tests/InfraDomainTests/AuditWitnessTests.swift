import InfraDomain
import Testing

@Suite("Audit witness: heads recorded outside the database, checked against the chain")
struct AuditWitnessTests {
    /// A sealed chain of `count` rows.
    static func chain(_ count: Int) -> [AuditChain.Record] {
        var records: [AuditChain.Record] = []
        for seq in 1...max(count, 1) where count > 0 {
            let record = AuditChain.Record(seq: Int64(seq), at: "2026-11-21T10:00:00.000Z", actor: "mcp:svc", kind: "tool", host: "t1",
                                           action: "", proposalID: "", outcome: "ok", detail: "{\"n\":\"\(seq)\"}")
            records.append(AuditChain.seal(record, previousHash: records.last?.hash ?? AuditChain.genesis))
        }
        return records
    }

    static func head(_ record: AuditChain.Record) -> AuditChain.Anchor { .init(seq: record.seq, hash: record.hash) }

    @Test("The datagram is syslog with its own identifier; the message is `head SEQ HASH`")
    func format() {
        let head = AuditChain.Anchor(seq: 57, hash: String(repeating: "ab", count: 32))
        #expect(AuditWitness.message(head) == "head 57 " + String(repeating: "ab", count: 32))
        #expect(AuditWitness.datagram(head, pid: 4242) == "<13>mcp-linux-infra-audit[4242]: head 57 " + String(repeating: "ab", count: 32))
    }

    @Test("Heads are read from journalctl -o cat, full syslog lines, -o short and JSON; stray, imitated and malformed lines are ignored")
    func parsing() {
        let hash = String(repeating: "0f", count: 32), other = String(repeating: "e1", count: 32)
        let text = """
        head 3 \(hash)
        <13>mcp-linux-infra-audit[77]: head 4 \(hash)
        Nov 21 10:00:00 controller mcp-linux-infra-audit[77]: head 5 \(other)
        {"SYSLOG_IDENTIFIER":"mcp-linux-infra-audit","MESSAGE":"head 6 \(other)","_UID":"998"}
          head 7 \(other)\t
        Nov 21 10:00:00 controller someone-else[1]: head 99 \(hash)
        Nov 21 10:00:00 controller someone-else[1]: mcp-linux-infra-audit[77]: head 98 \(hash)
        Nov 21 10:00:00 controller someone-else[1]: {"SYSLOG_IDENTIFIER":"mcp-linux-infra-audit","MESSAGE":"head 97 \(hash)"}
        Nov 21 10:00:00 controller mcp-linux-infra-audit[77]: head 96 \(hash) and more
        head 8 \(hash.prefix(60))
        head 0 \(hash)
        head 9 \(hash.uppercased())
        head 3 \(hash)
        """
        #expect(AuditWitness.heads(in: text) == [.init(seq: 3, hash: hash), .init(seq: 4, hash: hash), .init(seq: 5, hash: other),
                                                 .init(seq: 6, hash: other), .init(seq: 7, hash: other)])
    }

    @Test("Every witnessed head in the chain with its hash: no problem, every distinct head counted")
    func intact() {
        let records = Self.chain(10)
        let heads = [records[2], records[6], records[9], records[9]].map(Self.head)
        let check = AuditWitness.check(heads, against: records, source: "the journal")
        #expect(check.headsChecked == 3 && check.problems.isEmpty && check.newestWitnessed == 10, "\(check)")
    }

    @Test("A cut tail names the first missing row and the furthest witnessed row")
    func cutTail() {
        let records = Self.chain(57)
        let heads = [records[49], records[53], records[56]].map(Self.head)
        let check = AuditWitness.check(heads, against: Array(records.prefix(52)), source: "the journal")
        #expect(check.headsChecked == 3)
        #expect(check.problems == ["the journal witnessed row 57 (sha256 \(records[56].hash.prefix(16))…), but the log ends at row 52: "
                                   + "rows 53–57 were cut (first missing row: 53)"])
        let one = AuditWitness.check([Self.head(records[52])], against: Array(records.prefix(52)), source: "the journal")
        #expect(one.problems.first?.contains("row 53 was cut (first missing row: 53)") == true, "\(one.problems)")
        let empty = AuditWitness.check([Self.head(records[1])], against: [], source: "the witness file w.log")
        #expect(empty.problems.first?.hasPrefix("the witness file w.log witnessed row 2") == true && empty.problems.first?.contains("the log is empty: rows 1–2 were cut") == true,
                "\(empty.problems)")
    }

    @Test("A rewritten row is named with both hashes; many are summarised after the first five")
    func rewritten() {
        let original = Self.chain(20)
        var forged = Array(original.prefix(11))
        for seq in 12...20 {
            let record = AuditChain.Record(seq: Int64(seq), at: "2026-11-21T11:00:00.000Z", actor: "mcp:svc", kind: "tool", host: "t1",
                                           action: "", proposalID: "", outcome: "ok", detail: "{}")
            forged.append(AuditChain.seal(record, previousHash: forged.last!.hash))
        }
        #expect(AuditChain.verify(forged) == nil)
        let check = AuditWitness.check(original.map(Self.head), against: forged, source: "the journal")
        #expect(check.headsChecked == 20)
        #expect(check.problems.count == 6, "\(check.problems)")
        #expect(check.problems.first == "the journal witnessed row 12 with sha256 \(original[11].hash.prefix(16))…, but the log's row 12 has sha256 "
                + "\(forged[11].hash.prefix(16))…: the row was rewritten (or the head was not this log's)")
        #expect(check.problems.last == "the journal: 4 more witnessed rows differ (rows 17–20)")
    }

    @Test("An injected head that the chain never had fails the check: a fake head cannot make a cut pass, only raise an alarm")
    func injectedHead() {
        let records = Self.chain(5)
        let fake = AuditChain.Anchor(seq: 3, hash: String(repeating: "1", count: 64))
        #expect(!AuditWitness.check([Self.head(records[4]), fake], against: records, source: "the journal").problems.isEmpty)
    }
}

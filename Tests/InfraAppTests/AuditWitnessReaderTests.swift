import Foundation
import InfraApp
import InfraDomain
import Testing

@Suite("Audit witness reader: heads from a file or the journal, and a plain reason when none is readable")
struct AuditWitnessReaderTests {
    @Test("A file: its heads and its name; a missing file or one without heads is no witness, with the reason")
    func file() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("witness-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hash = String(repeating: "5a", count: 32)
        let heads = directory + "/heads.log", other = directory + "/other.log"
        try "<13>mcp-linux-infra-audit[9]: head 4 \(hash)\nhead 2 \(hash)\n".write(toFile: heads, atomically: true, encoding: .utf8)
        try "Nov 21 10:00:00 controller cron[1]: head 4 \(hash)\n".write(toFile: other, atomically: true, encoding: .utf8)
        #expect(AuditWitnessReader.file(heads) == .heads([.init(seq: 4, hash: hash), .init(seq: 2, hash: hash)], source: "the witness file \(heads)"))
        #expect(AuditWitnessReader.file(other) == .none("\(other): no head line of mcp-linux-infra-audit in it"))
        guard case .unreadable(let reason) = AuditWitnessReader.file(directory + "/missing.log") else { Issue.record("a missing file was read"); return }
        #expect(reason.hasPrefix(directory + "/missing.log: cannot read it: "), "\(reason)")
    }

    @Test("The journal: without a database file, or without entries of its owner (this machine runs no journald), no witness, with the reason")
    func journal() async throws {
        guard case .none(let missing) = await AuditWitnessReader.journal(databasePath: "/nonexistent/state.sqlite3") else {
            Issue.record("heads for a database that does not exist"); return
        }
        #expect(missing.hasPrefix("journalctl: cannot read the owner of /nonexistent/state.sqlite3: "), "\(missing)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("db-\(UUID().uuidString)").path
        try "".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let reading = await AuditWitnessReader.journal(databasePath: file)
        // With a journal that holds this account's heads (a production controller) they would be read instead.
        if case .none(let reason) = reading {
            #expect(reason == "journalctl: not installed"
                    || reason.hasPrefix("journalctl: no entries with _UID=\(getuid()) SYSLOG_IDENTIFIER=mcp-linux-infra-audit"), "\(reason)")
        } else {
            #expect(FileManager.default.fileExists(atPath: "/run/systemd/journal/socket"), "heads without a journal: \(reading)")
        }
    }
}

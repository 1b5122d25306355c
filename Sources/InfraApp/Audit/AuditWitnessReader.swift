import Foundation
import Glibc
import InfraDomain

/// Reads the audit heads the witness recorded (``AuditWitness``), for `audit verify`: from the controller's
/// journal (`journalctl`, entries of the account that owns the state database) or from a file (such an
/// export, or a syslog sink's file).
public enum AuditWitnessReader {
    /// What was read.
    public enum Reading: Sendable, Equatable {
        /// Heads, and where they came from (named in problems and in the summary).
        case heads([AuditChain.Anchor], source: String)
        /// No witness was recorded or none is kept on this machine, and why: not a finding.
        case none(String)
        /// A witness is there but could not be read, and why: `audit verify` could not check it.
        case unreadable(String)
    }

    /// The journalctl programs tried, in order.
    static let journalctlPaths = ["/usr/bin/journalctl", "/bin/journalctl"]

    /// The heads in `path`, whose lines are `journalctl -o cat` output or full syslog lines.
    public static func file(_ path: String) -> Reading {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            return .unreadable("\(path): cannot read it: \((error as NSError).localizedDescription)")
        }
        let heads = AuditWitness.heads(in: text)
        guard !heads.isEmpty else { return .none("\(path): no head line of \(AuditWitness.identifier) in it") }
        return .heads(heads, source: "the witness file \(path)")
    }

    /// The heads the journal holds for the account that owns the file at `databasePath`, or for this account
    /// when there is no file (PostgreSQL: the servers this account runs on this machine). journald stamps `_UID`
    /// itself; a sender cannot choose it.
    public static func journal(databasePath: String?) async -> Reading {
        var status = stat()
        if let databasePath {
            guard stat(databasePath, &status) == 0 else {
                return .none("journalctl: cannot read the owner of \(databasePath): \(String(cString: strerror(errno)))")
            }
        } else {
            status.st_uid = getuid()
        }
        guard let program = journalctlPaths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .none("journalctl: not installed")
        }
        let filter = ["_UID=\(status.st_uid)", "SYSLOG_IDENTIFIER=\(AuditWitness.identifier)"]
        let outcome: ChildProcess.Outcome
        do {
            outcome = try await ChildProcess.run(program, ["-q", "-o", "cat", "--no-pager"] + filter)
        } catch {
            return .none("journalctl: \(error)")
        }
        guard outcome.status == 0 else {
            let reason = outcome.stderr.split(separator: "\n").first.map(String.init) ?? "no message"
            return .unreadable("journalctl: exit \(outcome.status): \(TerminalText.escaped(reason))")
        }
        let heads = AuditWitness.heads(in: outcome.stdout)
        guard !heads.isEmpty else {
            return .none("journalctl: no entries with \(filter.joined(separator: " ")); run as root or in group systemd-journal to read them")
        }
        return .heads(heads, source: "the journal (_UID=\(status.st_uid))")
    }
}

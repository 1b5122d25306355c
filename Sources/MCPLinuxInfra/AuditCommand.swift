import ArgumentParser
import Foundation
import InfraApp
import InfraDomain
import Logging

/// `audit`: read, search, export and verify the chained audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read and verify the audit log (every tool call, SSH exec and state change, chained by SHA-256).",
        subcommands: [Tail.self, Search.self, Export.self, Verify.self])

    /// `audit tail [-n N] [-f]`
    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The last rows; -f keeps printing new ones.")
        @OptionGroup var options: ConfigurationOptions
        @Option(name: .short, help: "How many rows.") var n = 20
        @Flag(name: .short, help: "Follow: print new rows as they are appended.") var f = false

        func run() throws {
            let log = try AuditCommand.log(options)
            var filter = AuditFilter()
            filter.limit = n
            var last: Int64 = 0
            for record in try log.records(filter) { print(AuditCommand.line(record)); last = record.seq }
            while f {
                Thread.sleep(forTimeInterval: 0.5)
                var next = AuditFilter()
                next.afterSeq = last
                for record in try log.records(next) { print(AuditCommand.line(record)); last = record.seq }
                fflush(nil)
            }
        }
    }

    /// `audit search`
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rows matching every given criterion.")
        @OptionGroup var options: ConfigurationOptions
        @Option(help: "Inventory host.") var host: String?
        @Option(help: "Catalogue action.") var action: String?
        @Option(help: "Actor: os:USER (a human at the CLI), mcp:USER (the MCP server), system.") var actor: String?
        @Option(help: "Kind: tool, ssh, state, approval, execution, server.") var kind: String?
        @Option(help: "Outcome: ok, error, exit, unreachable, refused, approved, or a state such as COMPLETED.") var outcome: String?
        @Option(help: "Action id.") var id: String?
        @Option(help: "From this time (ISO 8601 UTC, e.g. 2026-11-21T09:00:00Z or 2026-11-21).") var since: String?
        @Option(help: "Until this time (ISO 8601 UTC).") var until: String?
        @Flag(help: "JSON lines instead of text.") var jsonl = false

        func run() throws {
            var filter = AuditFilter()
            (filter.host, filter.action, filter.actor, filter.kind, filter.outcome, filter.proposalID) = (host, action, actor, kind, outcome, id)
            filter.since = try since.map { try AuditCommand.bound($0, "--since") }
            filter.until = try until.map { try AuditCommand.bound($0, "--until", end: true) }
            for record in try AuditCommand.log(options).records(filter) { print(jsonl ? try AuditCommand.json(record) : AuditCommand.line(record)) }
        }
    }

    /// `audit export --jsonl`
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every row as JSON lines, with its hashes (verifiable elsewhere).")
        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "JSON lines (the only format).") var jsonl = false

        func validate() throws {
            guard jsonl else { throw ValidationError("give --jsonl (the export format)") }
        }

        func run() throws {
            for record in try AuditCommand.log(options).records(AuditFilter()) { print(try AuditCommand.json(record)) }
        }
    }

    /// `audit verify`
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the chain and check every signed approval's anchor; exit 1 and name what fails on any tampering.",
            discussion: """
            Exit status: 0 everything checked holds; 1 FAILED: tampered or inconsistent (a finding; it wins over what could \
            not be checked); 2 the configuration is wrong; 3 COULD NOT CHECK: a part could not be checked (a host out of reach, \
            the reader key missing or unreadable, a database or witness file this account cannot read) and nothing checked failed.


            It prints the head as SEQ:HASH: save it somewhere the server cannot write, and give it later with --anchor. Every stored \
            signed approval is checked against the approvers' keys in the inventory, and the audit head it names must still be in \
            the chain. --hosts also reads each host's ledger of executed approvals (reader account) and checks every entry. \
            Every head the witness recorded (LINUX_MCP_AUDIT_WITNESS; by default read back from the journal with journalctl, \
            entries of the account that owns the database) must still be a row of the chain with that hash: a cut tail names its \
            first missing row. --witness reads the heads from a file instead (a journalctl export or a syslog file).
            """)
        @OptionGroup var options: ConfigurationOptions
        @Option(name: .long, help: "A head saved earlier (SEQ:HASH); the chain must still hold that row with that hash. Repeatable.")
        var anchor: [String] = []
        @Flag(help: "Also check every host's ledger (needs the reader key, as the server has).") var hosts = false
        @Option(help: ArgumentHelp("Read the witnessed heads from this file instead of the journal.",
                                   discussion: "An export of `journalctl -q -o cat --no-pager _UID=UID SYSLOG_IDENTIFIER=mcp-linux-infra-audit`, or a syslog file.",
                                   valueName: "file"))
        var witness: String?

        func validate() throws {
            for text in anchor where AuditChain.Anchor(text) == nil {
                throw ValidationError("--anchor '\(text)' is not SEQ:HASH (a row number and 64 hex digits, as audit verify prints the head)")
            }
        }

        func run() async throws {
            let anchors = anchor.compactMap(AuditChain.Anchor.init)
            var report: AuditVerification.Report
            var hostCount: Int?
            let verification: AuditVerification
            let witnessed: AuditWitnessReader.Reading
            var unchecked: [String] = []
            if hosts, let services = try AuditCommand.serverServices(options, unchecked: &unchecked) {
                verification = services.verification
                // Before the log: every head read then was committed before the log is read.
                witnessed = await AuditCommand.witnessed(witness, databasePath: services.databasePath)
                report = try verification.verifyLog(anchors: anchors)
                hostCount = services.diagnostics.inventory.hosts.count
                do {
                    try await verification.verifyHosts(ledgers: services.ledgers, report: &report)
                } catch {
                    await services.closeConnections()
                    throw error
                }
                await services.closeConnections()
            } else {
                let services = try options.verifying { () throws(InfraComposition.Failure) in try InfraComposition.review(envFile: options.envFile) }
                verification = services.verification
                witnessed = await AuditCommand.witnessed(witness, databasePath: services.databasePath)
                report = try verification.verifyLog(anchors: anchors)
            }
            try verification.verifyWitness(witnessed, report: &report)
            report.unchecked = unchecked + report.unchecked
            print(TerminalText.escaped(report.witness))
            if !report.problems.isEmpty {
                print("audit verify: FAILED (\(report.rows) rows, \(report.statementsChecked) signed approvals\(hosts ? ", \(report.ledgerEntriesChecked) ledger entries" : ""))")
                // Problems quote what the database holds: escaped, so no stored text can redraw this report.
                for problem in report.problems { print("  " + TerminalText.escaped(problem)) }
            }
            if !report.unchecked.isEmpty {
                print("audit verify: COULD NOT CHECK \(report.unchecked.count) part(s)" + (report.problems.isEmpty ? " (what was checked holds)" : ""))
                for part in report.unchecked { print("  " + TerminalText.escaped(part)) }
            }
            if !report.problems.isEmpty { throw ExitCode(1) }
            let anchored = anchors.isEmpty ? "" : ", \(anchors.count) anchor(s) held"
            let ledger = hostCount.map { ", \(report.ledgerEntriesChecked) ledger entries on \($0) host(s) match" } ?? ""
            let summary = "\(report.rows) rows, chain intact\(anchored), \(report.statementsChecked) signed approval(s) verified\(ledger); "
                + "head \(report.head.map(\.description) ?? "none (empty log)")"
            guard report.unchecked.isEmpty else {
                print("audit verify: incomplete, \(summary)")
                throw ExitCode(3)
            }
            print("audit verify: ok, \(summary)")
        }
    }

    /// The server's services for `--hosts`, or nil when only the accounts' keys stand in the way (the reviewer's
    /// configuration loads): then the hosts' ledgers go into `unchecked` with the reason, and the log is still checked.
    static func serverServices(_ options: ConfigurationOptions, unchecked: inout [String]) throws -> ServerServices? {
        do {
            return try InfraComposition.server(envFile: options.envFile, logLabel: "audit")
        } catch {
            guard case .configuration = error, (try? InfraComposition.review(envFile: options.envFile)) != nil else {
                return try options.verifying { () throws(InfraComposition.Failure) in throw error }
            }
            unchecked.append("every host's ledger: the reader account's key cannot be used here: " + error.description)
            return nil
        }
    }

    static func log(_ options: ConfigurationOptions) throws -> any AuditSink {
        try options.auditLog()
    }

    /// The heads the witness recorded: from `file`, or from the journal (entries of the database's owner).
    static func witnessed(_ file: String?, databasePath: String?) async -> AuditWitnessReader.Reading {
        if let file { return AuditWitnessReader.file(file) }
        return await AuditWitnessReader.journal(databasePath: databasePath)
    }

    /// One row as a line: every field through TerminalText, whoever wrote it (an older release, a database writer).
    static func line(_ record: AuditChain.Record) -> String {
        [String(record.seq), record.at, record.actor, record.kind, record.host.isEmpty ? "-" : record.host,
         record.action.isEmpty ? "-" : record.action, record.proposalID.isEmpty ? "-" : String(record.proposalID.prefix(8)),
         record.outcome, record.detail].map(TerminalText.escaped).joined(separator: "  ")
    }

    /// One row as JSON, safe to print: the same values (so the hashes still verify), with every character
    /// TerminalText escapes written as a JSON escape.
    static func json(_ record: AuditChain.Record) throws -> String {
        try AuditJSONLine.line(record)
    }

    /// A date bound as the stored text form: `YYYY-MM-DD` or a full ISO 8601 UTC time.
    static func bound(_ text: String, _ option: String, end: Bool = false) throws -> String {
        guard let bound = AuditFilter.timeBound(text, end: end) else {
            throw ValidationError("\(option) must be YYYY-MM-DD or an ISO 8601 time such as 2026-11-21T09:00:00Z")
        }
        return bound
    }
}

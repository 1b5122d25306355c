import ArgumentParser
import Foundation
import InfraApp
import InfraDomain

/// `store`: the shared PostgreSQL store's setup (`init-postgres`) and moving a controller's SQLite store into it
/// (`copy`). Everything else reaches the store through the use cases.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Set up the shared PostgreSQL store (schema and roles), or copy a SQLite store into it.",
        subcommands: [InitPostgres.self, Copy.self])

    /// `store init-postgres [--apply]`
    struct InitPostgres: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-postgres",
            abstract: "Print (default) or apply the schema and the roles the database enforces: mcp_owner owns the tables, mcp_server "
                + "may propose, claim, finish and append audit rows (never change or delete them, never write a decision), "
                + "mcp_reviewer may write decisions, mcp_auditor reads.",
            discussion: """
            --apply connects with LINUX_MCP_DATABASE_URL, which must then be a login that may create roles and is a member of \
            mcp_owner (or a superuser); it creates or migrates the schema once, whoever else starts at the same moment, and \
            grants. Logins are yours to create: CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE mcp_reviewer; (see docs/POSTGRESQL.md).
            """)

        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Run the SQL over LINUX_MCP_DATABASE_URL instead of printing it.") var apply = false

        func run() async throws {
            let setup = try options.postgresSetup()
            if !apply {
                print(setup.sql, terminator: setup.sql.hasSuffix("\n") ? "" : "\n")
                return
            }
            do {
                let done = try setup.apply()
                FileHandle.standardError.write(Data("store init-postgres: \(TerminalText.escaped(done))\n".utf8))
            } catch {
                writeError("store init-postgres: \(error)")
                throw ExitCode(1)
            }
        }
    }

    /// `store copy --from sqlite:PATH [--to postgres://...]`
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite store whole into an empty PostgreSQL store, verifying the chain and every signature before and after.",
            discussion: """
            The source must verify as `audit verify` does (against this configuration's inventory, its witnessed heads and the \
            anchors given), and the destination must be empty: nothing is merged. Stop every server on the source first. --to defaults to LINUX_MCP_DATABASE_URL; a \
            password written on the command line is visible to other users in ps, so prefer the setting.
            """)

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "The source: sqlite:PATH (a state database file).") var from: String
        @Option(help: "The destination, postgres://... (default: LINUX_MCP_DATABASE_URL).") var to: String?
        @Option(help: "A head of the source saved elsewhere, SEQ:HASH (repeatable): it must still be in the source's chain.")
        var anchor: [String] = []
        @Option(help: "Read the source's witnessed heads from this file instead of the journal (entries of the source file's owner).")
        var witness: String?

        func run() async throws {
            guard from.hasPrefix("sqlite:"), from.count > "sqlite:".count else {
                throw ValidationError("--from must be sqlite:PATH, the SQLite state database to copy (e.g. sqlite:/var/lib/mcp/state.sqlite3)")
            }
            let path = String(from.dropFirst("sqlite:".count))
            var anchors: [AuditChain.Anchor] = []
            for text in anchor {
                guard let parsed = AuditChain.Anchor(text) else { throw ValidationError("--anchor '\(text)' is not SEQ:HASH (HASH: 64 hex digits)") }
                anchors.append(parsed)
            }
            var copy = try options.storeCopy(from: path, to: to)
            copy.anchors = anchors
            // Before the source is read: every head read then was committed before it.
            copy.witness = await AuditCommand.witnessed(witness, databasePath: path)
            do {
                let report = try copy.run()
                print(TerminalText.escaped(report.witness))
                print("store copy: ok, \(report.proposals) proposal(s), \(report.auditRows) audit row(s), chain verified, "
                      + "\(report.statementsChecked) signed approval check(s); head \(report.head.map(\.description) ?? "none (empty log)")")
            } catch {
                writeError("store copy: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

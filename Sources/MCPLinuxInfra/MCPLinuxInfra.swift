import ArgumentParser
import Foundation
import InfraApp
import InfraConfig
import InfraDomain
import InfraMCP
import InfraSSH
import InfraStore
import Logging

/// The `mcp-linux-infra` command.
@main
struct MCPLinuxInfra: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-linux-infra",
        abstract: "Let an AI diagnose Linux hosts over SSH, and run only human-approved actions.",
        subcommands: [ServeCommand.self, DoctorCommand.self, ActionsCommand.self, AuditCommand.self])

    /// Runs the command, then ends the process in order: every command has shut its SSH pool down by the
    /// time it returns or throws; ``SSHRuntime/finish(within:)`` then waits for the last session thread
    /// and releases libssh2, and only after that does the process exit (see docs/ARCHITECTURE.md).
    static func main() async {
        var failure: (any Error)?
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            failure = error
        }
        if await !SSHRuntime.finish(within: .seconds(2)) {
            FileHandle.standardError.write(Data("warning: \(SSHRuntime.liveSessionThreads) SSH session thread(s) still closing; exiting without library cleanup\n".utf8))
        }
        guard let failure else { SSHRuntime.endProcess(status: 0) }
        let message = fullMessage(for: failure)
        let status = exitCode(for: failure).rawValue
        if !message.isEmpty {
            let stream = status == 0 ? FileHandle.standardOutput : FileHandle.standardError
            stream.write(Data((message + "\n").utf8))
        }
        SSHRuntime.endProcess(status: status)
    }
}

/// Options every subcommand that reads the configuration shares.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "A .env file with LINUX_MCP_* settings (default: ./.env if present).")
    var envFile: String?

    /// Loads and validates the configuration, or prints the error and exits with status 2.
    func load() throws -> LoadedConfiguration {
        try loading { try ConfigurationLoader.load(envFile: envFile) } settings: { $0.settings }
    }

    /// Loads what a reviewer needs (no account keys), or prints the error and exits with status 2.
    func loadReview() throws -> ReviewConfiguration {
        try loading { try ConfigurationLoader.review(envFile: envFile) } settings: { $0.settings }
    }

    /// Runs a loader; on success sets up logging from its settings, on failure prints the error and exits 2.
    private func loading<T>(_ load: () throws -> T, settings: (T) -> Settings) throws -> T {
        do {
            let configuration = try load()
            LogSetup.bootstrap(level: settings(configuration).logLevel)
            return configuration
        } catch {
            writeError("configuration error: \(error)")
            throw ExitCode(2)
        }
    }

    /// Loads only the settings (the human-side commands that need no inventory), or exits with status 2.
    func loadSettings() throws -> Settings {
        do {
            return try ConfigurationLoader.settings(envFile: envFile)
        } catch {
            writeError("configuration error: \(error)")
            throw ExitCode(2)
        }
    }
}

/// Writes an error to stderr, each of its lines escaped: errors quote the inventory, the database's schema and
/// other text an attacker may have written, which must not redraw the operator's terminal.
func writeError(_ text: String) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.escaped(String($0)) }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}

/// Opens the state database, or prints why it cannot be used and exits with status 2. Every commit that
/// appends audit rows sends the new head to the audit witness (LINUX_MCP_AUDIT_WITNESS).
func openDatabase(_ settings: Settings) throws -> StateDatabase {
    do {
        return try StateDatabase(path: settings.databasePath, witness: AuditHeadWitness(socketPath: settings.auditWitnessSocket))
    } catch {
        writeError("\(error)")
        throw ExitCode(2)
    }
}

/// `doctor`: one line per host and account, non-zero exit when any check fails.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check every inventory host with both accounts (host key, authentication, forced command).")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let configuration = try options.load()
        let pool = SSHPool(options: SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys,
                           logger: Logger(label: "mcp-linux-infra.ssh"))
        let checks = await Doctor(configuration: configuration, pool: pool).run()
        await pool.shutdown()
        for check in checks {
            // A check quotes what the host answered: escaped, so a host cannot turn a FAIL line into another.
            print(TerminalText.escaped(check.line))
            for warning in check.warningLines { print(TerminalText.escaped(warning)) }
        }
        let failed = checks.filter { !$0.passed }.count
        print("\(checks.count - failed) of \(checks.count) checks passed")
        if failed > 0 { throw ExitCode(1) }
    }
}

/// `serve`: the MCP server on stdio (JSON-RPC on stdout, logs on stderr).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the MCP tools on stdin/stdout (for Claude Desktop, Claude Code and other MCP clients).")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let configuration = try options.load()
        let database = try openDatabase(configuration.settings)
        let server = DiagnosticsServer(configuration: configuration, database: database, logger: Logger(label: "mcp-linux-infra.mcp"))
        try await server.serveStdio(version: "0.3.0")
    }
}

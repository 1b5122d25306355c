import ArgumentParser
import Foundation
import InfraApp
import InfraConsole
import InfraDomain
import InfraHTTP
import InfraMCP
import Logging

/// The `mcp-linux-infra` command.
@main
struct MCPLinuxInfra: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-linux-infra",
        abstract: "Let an AI diagnose Linux hosts over SSH, and run only human-approved actions.",
        version: ServeCommand.version,
        subcommands: [ServeCommand.self, DoctorCommand.self, ActionsCommand.self, AuditCommand.self, TokensCommand.self, StoreCommand.self,
                      SetupCommand.self])

    /// Runs the command, then ends the process in order: every command has shut its SSH pool down by the
    /// time it returns or throws; `InfraComposition.endProcess` then waits for the last SSH I/O thread
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
        var status: Int32 = 0
        if let failure {
            let message = fullMessage(for: failure)
            status = exitCode(for: failure).rawValue
            if !message.isEmpty {
                let stream = status == 0 ? FileHandle.standardOutput : FileHandle.standardError
                stream.write(Data((message + "\n").utf8))
            }
        }
        await InfraComposition.endProcess(status: status)
    }
}

/// Options every subcommand that reads the configuration shares.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The settings file (LINUX_MCP_* lines; relative paths in it are relative to its folder).",
                                            discussion: "Default: LINUX_MCP_ENV_FILE, else ./.env if present, else /etc/mcp-linux-infra/settings.env."))
    var envFile: String?

    /// The server side's services (`serve`, `doctor`, `audit verify --hosts`), or the error printed and exit 2.
    func server(_ label: String) throws -> ServerServices {
        try building { () throws(InfraComposition.Failure) in try InfraComposition.server(envFile: envFile, logLabel: label) }
    }

    /// What a reviewer uses (no account keys), or the error printed and exit 2.
    func review() throws -> ReviewServices {
        try building { () throws(InfraComposition.Failure) in try InfraComposition.review(envFile: envFile) }
    }

    /// The audit log alone (settings only), or the error printed and exit 2.
    func auditLog() throws -> any AuditSink {
        try building { () throws(InfraComposition.Failure) in try InfraComposition.auditLog(envFile: envFile) }
    }

    /// The review console's services over the server's, or the error printed and exit 2.
    func console(server: ServerServices) throws -> ConsoleServices {
        try building { () throws(InfraComposition.Failure) in try InfraComposition.console(server: server, envFile: envFile) }
    }

    /// How `serve` serves HTTP (settings only), or the error printed and exit 2.
    func httpServing() throws -> HTTPServing {
        try building { () throws(InfraComposition.Failure) in try InfraComposition.httpServing(envFile: envFile) }
    }

    /// `store init-postgres`'s SQL and how to apply it (settings only), or the error printed and exit 2.
    func postgresSetup() throws -> PostgresSetup {
        try building { () throws(InfraComposition.Failure) in try InfraComposition.postgresSetup(envFile: envFile) }
    }

    /// `store copy`'s two stores and inventory, or the error printed and exit 2.
    func storeCopy(from path: String, to url: String?) throws -> StoreCopy {
        try building { () throws(InfraComposition.Failure) in try InfraComposition.storeCopy(envFile: envFile, from: path, to: url) }
    }

    /// The HTTP clients' tokens file (settings only), or the error printed and exit 2.
    func clientTokens() throws -> ClientTokenFile {
        try building { () throws(InfraComposition.Failure) in try InfraComposition.clientTokens(envFile: envFile) }
    }

    /// For `audit verify`: what `build` makes; a configuration error is printed and exits 2 (as everywhere), a store
    /// that cannot be opened (a permission denied) is printed as COULD NOT CHECK and exits 3.
    func verifying<T>(_ build: () throws(InfraComposition.Failure) -> T) throws -> T {
        do {
            return try build()
        } catch {
            guard case .store(let reason) = error else {
                writeError(error.description)
                throw ExitCode(2)
            }
            print("audit verify: COULD NOT CHECK (nothing was checked)")
            writeError(reason)
            throw ExitCode(3)
        }
    }

    private func building<T>(_ build: () throws(InfraComposition.Failure) -> T) throws -> T {
        do {
            return try build()
        } catch {
            writeError(error.description)
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

/// `doctor`: one line per host and account, non-zero exit when any check fails.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the state store (connection, schema, the login's privileges), then every inventory host with both accounts (host key, authentication, forced command).")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let services = try options.server("mcp-linux-infra.ssh")
        let store = services.storeStatus()
        print(TerminalText.escaped(store.line))
        let checks = await services.doctor.run()
        await services.closeConnections()
        for check in checks {
            // A check quotes what the host answered: escaped, so a host cannot turn a FAIL line into another.
            print(TerminalText.escaped(check.line))
            for warning in check.warningLines { print(TerminalText.escaped(warning)) }
        }
        for warning in services.doctor.approverWarningLines { print(TerminalText.escaped(warning)) }
        let failed = checks.filter { !$0.passed }.count + (store.passed ? 0 : 1)
        print("\(checks.count + 1 - failed) of \(checks.count + 1) checks passed")
        if failed > 0 { throw ExitCode(1) }
    }
}

/// `serve`: the MCP server on stdio (JSON-RPC on stdout, logs on stderr), or on Streamable HTTP with `--http`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the MCP tools on stdin/stdout (for Claude Desktop, Claude Code and other MCP clients), or over HTTP with --http.",
        discussion: """
        With --http [ADDR:]PORT (or LINUX_MCP_HTTP_LISTEN) the server speaks Streamable HTTP at /mcp to clients holding a \
        bearer token (mcp-linux-infra tokens add NAME; the token's name is recorded as the proposer), serves the review \
        console at / (approvers log in with an SSH-signed nonce), /metrics (tokens of scope metrics) and /healthz, and \
        stops in order on SIGTERM. It listens on 127.0.0.1 unless ADDR says otherwise; an \
        address outside loopback also needs --allow-remote, and TLS in front (docs/HTTP.md).
        """)

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .customLong("http"), help: "Serve Streamable HTTP on [ADDR:]PORT instead of stdio (default: LINUX_MCP_HTTP_LISTEN).")
    var http: String?

    @Flag(name: .customLong("allow-remote"), help: "Allow --http on an address outside loopback (put a TLS proxy in front).")
    var allowRemote = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let serving = try options.httpServing()
        var listen = serving.listen
        if let http {
            do { listen = try HTTPListenAddress.parse(http) } catch {
                writeError("--http: \(error.description)")
                throw ExitCode(2)
            }
        }
        let services = try options.server("mcp-linux-infra.mcp")
        let logger = Logger(label: "mcp-linux-infra.mcp")
        let server = MCPServer(services: services, logger: logger)
        guard let listen else {
            try await server.serveStdio(version: Self.version)
            return
        }
        // Once per process, before the first request: /metrics reads what swift-metrics recorded since.
        MetricsEndpoint.bootstrap()
        let consoleServices = try options.console(server: services)
        // Behind a TLS proxy (an https origin is configured) the console's cookies are Secure.
        let console = ReviewConsole(services: consoleServices,
                                    settings: ConsoleSettings(secureCookies: serving.origins.contains { $0.hasPrefix("https://") }),
                                    logger: Logger(label: "mcp-linux-infra.console"))
        let front = HTTPFront(mcp: server, tokens: serving.tokens, console: console,
                              configuration: .init(listen: listen, allowRemote: allowRemote, origins: serving.origins,
                                                   sessionIdle: serving.sessionIdle, maxSessions: serving.maxSessions,
                                                   maxSessionsPerToken: serving.maxSessionsPerToken, maxConnections: serving.maxConnections,
                                                   maxMessageBytes: serving.maxMessageBytes, heartbeat: serving.keepalive),
                              version: Self.version, logger: Logger(label: "mcp-linux-infra.http"))
        do {
            try front.check()
        } catch {
            await services.closeConnections()
            writeError("serve --http: \(error.description)")
            throw ExitCode(2)
        }
        try await front.run { address in
            // Whatever the log level: the operator (and scripts) learn where it listens, the port chosen for 0 included.
            FileHandle.standardError.write(Data("mcp-linux-infra serving: mcp=http://\(address)/mcp console=http://\(address)/\n".utf8))
        }
    }

    static let version = "0.3.0"
}

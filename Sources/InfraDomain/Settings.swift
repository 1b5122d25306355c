import Foundation

/// Every setting of the server, typed, with its default.
///
/// Settings come from `LINUX_MCP_*` environment variables and from a `.env` file; the environment wins.
/// ``Settings/definitions`` is the one list of names, defaults and meanings (`.env.example` mirrors it,
/// and a test keeps the two equal). Unknown `LINUX_MCP_*` names are errors, so a typo never silently
/// falls back to a default.
public struct Settings: Sendable, Equatable {
    public var inventoryPath: String
    public var knownHostsPath: String
    public var cataloguePath: String
    public var reader: AccountSettings
    public var runner: AccountSettings
    /// `nil`: no agent. Otherwise the agent socket to ask first.
    public var agentSocket: String?
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    public var maxOutputBytes: Int
    public var poolIdleTimeout: Duration
    public var keepaliveSeconds: Int
    public var maxHandshakesPerHost: Int
    public var maxSessionsPerHost: Int
    public var maxChannelsPerSession: Int
    /// SSH I/O threads that carry every pooled session, whatever the number of hosts.
    public var sshIOThreads: Int
    /// Hosts one diagnostic call asks at once.
    public var fanOutWidth: Int
    public var logLevel: String
    /// The state database (proposals, approvals, executions, audit log) when it is SQLite.
    public var databasePath: String
    /// The shared PostgreSQL store, when one is set (then ``databasePath`` is not used for the state).
    public var databaseURL: DatabaseURL?
    /// The login the review console records decisions with on PostgreSQL (a reviewer's), when set; otherwise the
    /// console writes through ``databaseURL``, whose server role may not write decisions.
    public var consoleDatabaseURL: DatabaseURL?
    /// Approvals per impact and the lifetimes of proposals and approvals.
    public var approvalPolicy: ApprovalPolicy
    /// How long `serve`, asked to stop, lets a running approved action finish and record its result.
    public var shutdownGrace: Duration
    /// How long a claimed execution is held without a renewal: its server renews it every third of this while
    /// the host works, and once it has passed any server sharing the store marks the run INTERRUPTED.
    public var executionLease: Duration
    /// The largest JSON-RPC message `serve` reads; a larger one is refused as soon as it passes this.
    public var maxMessageBytes: Int
    /// The unix datagram socket that witnesses the audit log's head after every commit (the journal's syslog
    /// socket by default; see ``AuditWitness``).
    public var auditWitnessSocket: String
    /// The HTTP clients' bearer tokens, hashed (``ClientTokens``), managed by `mcp-linux-infra tokens`.
    public var httpTokensPath: String
    /// Where `serve` listens for HTTP, or nil to serve stdio.
    public var httpListen: HTTPListenAddress?
    /// Origins (scheme://host[:port]) allowed besides this machine's own, for a server behind a TLS proxy.
    public var httpOrigins: [String]
    /// An HTTP MCP session unused this long is closed.
    public var httpSessionIdle: Duration
    /// Most HTTP MCP sessions open at once.
    public var httpMaxSessions: Int
    /// How often a silent SSE stream gets a keepalive comment.
    public var httpKeepalive: Duration
    /// Most HTTP MCP sessions of one token at once.
    public var httpMaxSessionsPerToken: Int
    /// Most HTTP connections at once.
    public var httpMaxConnections: Int

    /// The account name and key of one of the two SSH accounts.
    public struct AccountSettings: Sendable, Equatable {
        public var user: String
        /// The private key file; its public half is `privateKeyPath + ".pub"`.
        public var privateKeyPath: String
        public var publicKeyPath: String { privateKeyPath + ".pub" }
    }

    /// One setting: its variable name, default and meaning.
    public struct Definition: Sendable, Equatable {
        public var name: String
        public var defaultValue: String
        public var meaning: String
    }

    /// All settings, in the order `.env.example` lists them.
    public static let definitions: [Definition] = [
        .init(name: "LINUX_MCP_INVENTORY", defaultValue: "inventory.yml",
              meaning: "Ansible YAML inventory: the only hosts that can ever be reached"),
        .init(name: "LINUX_MCP_KNOWN_HOSTS", defaultValue: "keys/known_hosts",
              meaning: "Pinned host keys (OpenSSH known_hosts format; ed25519 or ECDSA)"),
        .init(name: "LINUX_MCP_CATALOGUE", defaultValue: "system/pra-catalogue.tsv",
              meaning: "Approved-action catalogue: the same file the role installs on the targets"),
        .init(name: "LINUX_MCP_READER_USER", defaultValue: "mcp-reader",
              meaning: "Read-only diagnostics account on the targets"),
        .init(name: "LINUX_MCP_READER_KEY", defaultValue: "keys/mcp-reader",
              meaning: "Private key of the reader account; its .pub must sit beside it"),
        .init(name: "LINUX_MCP_RUNNER_USER", defaultValue: "pra-runner",
              meaning: "Account that runs approved actions on the targets"),
        .init(name: "LINUX_MCP_RUNNER_KEY", defaultValue: "keys/pra-runner",
              meaning: "Private key of the runner account; its .pub must sit beside it"),
        .init(name: "LINUX_MCP_SSH_AGENT", defaultValue: "auto",
              meaning: "auto = use $SSH_AUTH_SOCK when set; none = never use an agent; or an agent socket path"),
        .init(name: "LINUX_MCP_CONNECT_TIMEOUT_MS", defaultValue: "5000",
              meaning: "Bound on TCP connect + SSH handshake + authentication (100-60000)"),
        .init(name: "LINUX_MCP_COMMAND_TIMEOUT_MS", defaultValue: "30000",
              meaning: "Default overall deadline of one remote command (100-600000)"),
        .init(name: "LINUX_MCP_MAX_OUTPUT_BYTES", defaultValue: "1048576",
              meaning: "Cap on captured stdout and on captured stderr per command; the rest is dropped and flagged (1024-67108864)"),
        .init(name: "LINUX_MCP_POOL_IDLE_SECONDS", defaultValue: "300",
              meaning: "Close a pooled SSH session after this many idle seconds (1-86400)"),
        .init(name: "LINUX_MCP_KEEPALIVE_SECONDS", defaultValue: "30",
              meaning: "SSH keepalive interval of pooled sessions (0 = off, up to 3600)"),
        .init(name: "LINUX_MCP_MAX_HANDSHAKES_PER_HOST", defaultValue: "4",
              meaning: "Simultaneous SSH handshakes to one host; stays under sshd MaxStartups (1-10)"),
        .init(name: "LINUX_MCP_MAX_SESSIONS_PER_HOST", defaultValue: "4",
              meaning: "Pooled SSH sessions per host and account (1-64)"),
        .init(name: "LINUX_MCP_MAX_CHANNELS_PER_SESSION", defaultValue: "8",
              meaning: "Simultaneous commands on one SSH session; stays under sshd MaxSessions 10 (1-10)"),
        .init(name: "LINUX_MCP_SSH_IO_THREADS", defaultValue: "2",
              meaning: "Threads that carry every SSH session, each polling many sessions, whatever the number of hosts (1-8)"),
        .init(name: "LINUX_MCP_FANOUT_WIDTH", defaultValue: "16",
              meaning: "Hosts one diagnostic call over a group asks at once (1-256)"),
        .init(name: "LINUX_MCP_LOG_LEVEL", defaultValue: "info",
              meaning: "Log level on stderr: trace, debug, info, notice, warning, error, critical"),
        .init(name: "LINUX_MCP_DB", defaultValue: "auto",
              meaning: "State database (SQLite): auto = $XDG_STATE_HOME/mcp-linux-infra/state.sqlite3 (~/.local/state/... without it)"),
        .init(name: "LINUX_MCP_DATABASE_URL", defaultValue: "none",
              meaning: "none = the SQLite file above; postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=verify-full&sslrootcert=/ca.pem] or postgres://USER@/DB?host=/run/postgresql = a shared PostgreSQL store (docs/POSTGRESQL.md)"),
        .init(name: "LINUX_MCP_CONSOLE_DATABASE_URL", defaultValue: "none",
              meaning: "With PostgreSQL: the login (in mcp_reviewer) the review console records signed decisions with; none = the console cannot record them under the roles of store init-postgres"),
        .init(name: "LINUX_MCP_PROPOSAL_TTL_SECONDS", defaultValue: "3600",
              meaning: "A proposal not approved within this time expires (1-604800)"),
        .init(name: "LINUX_MCP_APPROVAL_TTL_SECONDS", defaultValue: "900",
              meaning: "The window a new signed approval gets (1-86400), at most each host's mcp_approval_max_window: it shortens, never stretches"),
        .init(name: "LINUX_MCP_APPROVALS_LOW", defaultValue: "1",
              meaning: "Distinct human approvers a LOW-impact action needs (1-5)"),
        .init(name: "LINUX_MCP_APPROVALS_MEDIUM", defaultValue: "1",
              meaning: "Distinct human approvers a MEDIUM-impact action needs (1-5)"),
        .init(name: "LINUX_MCP_APPROVALS_HIGH", defaultValue: "2",
              meaning: "Distinct human approvers a HIGH-impact action needs (1-5)"),
        .init(name: "LINUX_MCP_SHUTDOWN_GRACE_SECONDS", defaultValue: "30",
              meaning: "On SIGTERM/SIGINT or a closed client, how long serve lets a running approved action finish (0-3600)"),
        .init(name: "LINUX_MCP_EXECUTION_LEASE_SECONDS", defaultValue: "60",
              meaning: "A running approved action's server renews its lease every third of this; past it, any server sharing the store marks the action INTERRUPTED (3-3600)"),
        .init(name: "LINUX_MCP_MAX_MESSAGE_BYTES", defaultValue: "1048576",
              meaning: "Largest JSON-RPC message serve reads; a larger one is refused as soon as it passes this (4096-67108864)"),
        .init(name: "LINUX_MCP_AUDIT_WITNESS", defaultValue: "/dev/log",
              meaning: "Unix datagram socket that gets the audit log's head after every commit, as syslog identifier mcp-linux-infra-audit (the journal; audit verify reads it back)"),
        .init(name: "LINUX_MCP_HTTP_TOKENS", defaultValue: "auto",
              meaning: "The HTTP clients' bearer tokens, hashed, managed by `mcp-linux-infra tokens`: auto = http-tokens beside the state database"),
        .init(name: "LINUX_MCP_HTTP_LISTEN", defaultValue: "none",
              meaning: "none = serve speaks stdio; [ADDR:]PORT = serve speaks Streamable HTTP there (like serve --http); loopback unless --allow-remote"),
        .init(name: "LINUX_MCP_HTTP_ORIGINS", defaultValue: "none",
              meaning: "Comma-separated origins (https://mcp.example.com) browsers and clients may send besides loopback ones, e.g. the TLS proxy's"),
        .init(name: "LINUX_MCP_HTTP_SESSION_IDLE_SECONDS", defaultValue: "1800",
              meaning: "An HTTP MCP session unused this long is closed; the client initializes a new one (10-86400)"),
        .init(name: "LINUX_MCP_HTTP_MAX_SESSIONS", defaultValue: "64",
              meaning: "Most HTTP MCP sessions open at once; one more is refused with 503 (1-4096)"),
        .init(name: "LINUX_MCP_HTTP_MAX_SESSIONS_PER_TOKEN", defaultValue: "8",
              meaning: "Most HTTP MCP sessions one token holds at once, so that one client cannot take every place (1-4096)"),
        .init(name: "LINUX_MCP_HTTP_MAX_CONNECTIONS", defaultValue: "1024",
              meaning: "Most HTTP connections at once; beyond it new ones wait until one closes (8-65536; serve raises its open-file limit to the hard one)"),
        .init(name: "LINUX_MCP_HTTP_KEEPALIVE_SECONDS", defaultValue: "15",
              meaning: "A silent SSE stream gets a comment this often: proxies keep it open, and a client gone away is noticed (1-300)"),
    ]

    /// Where a setting's value came from, for error messages, and what its relative paths are relative to.
    public struct Source: Sendable {
        public var environment: [String: String]
        public var dotEnv: [DotEnvParser.Assignment]
        public var dotEnvPath: String
        /// The folder a relative path written in the settings file (or a default) resolves against: the settings
        /// file's own folder. Nil leaves such paths as written.
        public var settingsFolder: String?
        /// The folder a relative path from the environment resolves against: the current directory. Nil leaves
        /// such paths as written.
        public var workingDirectory: String?

        /// Creates a source from the process environment and a parsed `.env` (empty when there is none), with the
        /// folders relative paths resolve against (``ConfiguredPath``).
        public init(environment: [String: String], dotEnv: [DotEnvParser.Assignment] = [], dotEnvPath: String = ".env",
                    settingsFolder: String? = nil, workingDirectory: String? = nil) {
            self.environment = environment
            self.dotEnv = dotEnv
            self.dotEnvPath = dotEnvPath
            self.settingsFolder = settingsFolder
            self.workingDirectory = workingDirectory
        }
    }

    /// The settings whose values are file paths: a relative one resolves against the settings file's folder (a value
    /// from the environment: against the current directory).
    public static let pathSettings: Set<String> = ["LINUX_MCP_INVENTORY", "LINUX_MCP_KNOWN_HOSTS", "LINUX_MCP_CATALOGUE",
                                                   "LINUX_MCP_READER_KEY", "LINUX_MCP_RUNNER_KEY", "LINUX_MCP_DB", "LINUX_MCP_HTTP_TOKENS"]

    /// Resolves typed settings: environment first, then `.env`, then defaults.
    public static func resolve(_ source: Source) throws(ConfigurationError) -> Settings {
        let known = Set(definitions.map(\.name))
        for assignment in source.dotEnv where !known.contains(assignment.key) {
            throw unknownKey(assignment.key, file: source.dotEnvPath, line: assignment.line)
        }
        for key in source.environment.keys.sorted() where key.hasPrefix("LINUX_MCP_") && !known.contains(key) && key != "LINUX_MCP_ENV_FILE" {
            throw unknownKey(key, file: "environment", line: nil)
        }
        func raw(_ name: String) -> (value: String, file: String, line: Int?) {
            if let value = source.environment[name] { return (value, "environment", nil) }
            if let assignment = source.dotEnv.last(where: { $0.key == name }) {
                return (assignment.value, source.dotEnvPath, assignment.line)
            }
            return (definitions.first { $0.name == name }!.defaultValue, "defaults", nil)
        }
        func text(_ name: String) throws(ConfigurationError) -> String {
            let (value, file, line) = raw(name)
            guard !value.isEmpty else {
                throw ConfigurationError(.invalidValue, file: file, line: line, field: name, problem: "the value is empty",
                                         fix: "set a value or remove the line to use the default")
            }
            return value
        }
        /// A path setting, resolved against the folder its source's relative paths are relative to.
        func path(_ name: String) throws(ConfigurationError) -> String {
            let value = try text(name)
            let folder = raw(name).file == "environment" ? source.workingDirectory : source.settingsFolder
            return ConfiguredPath.resolve(value, against: folder)
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            let (value, file, line) = raw(name)
            guard let number = Int(value), range.contains(number) else {
                throw ConfigurationError(.invalidValue, file: file, line: line, field: name,
                                         problem: "'\(value)' is not a whole number from \(range.lowerBound) to \(range.upperBound)",
                                         fix: "set \(name) to a number in that range")
            }
            return number
        }
        func user(_ name: String) throws(ConfigurationError) -> String {
            let value = try text(name)
            let allowed = value.first.map { $0.isASCII && ($0.isLowercase || $0 == "_") } == true
                && value.count <= 32
                && value.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }
            guard allowed else {
                let (_, file, line) = raw(name)
                throw ConfigurationError(.invalidValue, file: file, line: line, field: name,
                                         problem: "'\(value)' is not a valid Unix account name",
                                         fix: "use lowercase letters, digits, - and _, starting with a letter (at most 32)")
            }
            return value
        }

        func database() throws(ConfigurationError) -> String {
            let value = try text("LINUX_MCP_DB")
            if value == "auto" {
                if let state = source.environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/mcp-linux-infra/state.sqlite3" }
                let home = source.environment["HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? NSHomeDirectory()
                return home + "/.local/state/mcp-linux-infra/state.sqlite3"
            }
            return try path("LINUX_MCP_DB")
        }
        let agentSetting = try text("LINUX_MCP_SSH_AGENT")
        let agentSocket: String?
        switch agentSetting {
        case "none": agentSocket = nil
        case "auto": agentSocket = source.environment["SSH_AUTH_SOCK"].flatMap { $0.isEmpty ? nil : $0 }
        default:
            guard agentSetting.hasPrefix("/") else {
                let (_, file, line) = raw("LINUX_MCP_SSH_AGENT")
                throw ConfigurationError(.invalidValue, file: file, line: line, field: "LINUX_MCP_SSH_AGENT",
                                         problem: "'\(agentSetting)' is neither auto, none nor an absolute socket path",
                                         fix: "set it to auto, none, or the absolute path of an ssh-agent socket")
            }
            agentSocket = agentSetting
        }
        let level = try text("LINUX_MCP_LOG_LEVEL")
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
            let (_, file, line) = raw("LINUX_MCP_LOG_LEVEL")
            throw ConfigurationError(.invalidValue, file: file, line: line, field: "LINUX_MCP_LOG_LEVEL",
                                     problem: "'\(level)' is not a log level",
                                     fix: "use trace, debug, info, notice, warning, error or critical")
        }
        func socketPath(_ name: String) throws(ConfigurationError) -> String {
            let value = try text(name)
            // sun_path holds 108 bytes with its terminating NUL.
            guard value.hasPrefix("/"), value.utf8.count <= 107, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                let (_, file, line) = raw(name)
                throw ConfigurationError(.invalidValue, file: file, line: line, field: name,
                                         problem: "'\(value)' is not an absolute unix socket path of at most 107 bytes without control characters",
                                         fix: "set \(name) to the journal's syslog socket (/dev/log) or another absolute socket path, or remove the line")
            }
            return value
        }
        func listen() throws(ConfigurationError) -> HTTPListenAddress? {
            let value = try text("LINUX_MCP_HTTP_LISTEN")
            if value == "none" { return nil }
            do {
                return try HTTPListenAddress.parse(value)
            } catch {
                let (_, file, line) = raw("LINUX_MCP_HTTP_LISTEN")
                throw ConfigurationError(.invalidValue, file: file, line: line, field: "LINUX_MCP_HTTP_LISTEN", problem: error.description,
                                         fix: "set none (stdio) or [ADDR:]PORT")
            }
        }
        func origins() throws(ConfigurationError) -> [String] {
            let value = try text("LINUX_MCP_HTTP_ORIGINS")
            if value == "none" { return [] }
            let list = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for origin in list where origin.wholeMatch(of: /https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?|https?:\/\/\[[0-9a-f:.]+\](:[0-9]{1,5})?/) == nil {
                let (_, file, line) = raw("LINUX_MCP_HTTP_ORIGINS")
                throw ConfigurationError(.invalidValue, file: file, line: line, field: "LINUX_MCP_HTTP_ORIGINS",
                                         problem: "'\(TerminalText.escaped(origin))' is not an origin (scheme://host[:port], lowercase, no path)",
                                         fix: "list origins such as https://mcp.example.com, separated by commas, or none")
            }
            return list
        }
        func databaseURL(_ name: String) throws(ConfigurationError) -> DatabaseURL? {
            let value = try text(name)
            if value == "none" { return nil }
            do {
                return try DatabaseURL.parse(value)
            } catch {
                let (_, file, line) = raw(name)
                throw ConfigurationError(.invalidValue, file: file, line: line, field: name, problem: error.problem, fix: error.fix)
            }
        }
        let sharedStore = try databaseURL("LINUX_MCP_DATABASE_URL")
        let consoleStore = try databaseURL("LINUX_MCP_CONSOLE_DATABASE_URL")
        if consoleStore != nil, sharedStore == nil {
            let (_, file, line) = raw("LINUX_MCP_CONSOLE_DATABASE_URL")
            throw ConfigurationError(.invalidValue, file: file, line: line, field: "LINUX_MCP_CONSOLE_DATABASE_URL",
                                     problem: "it is set while LINUX_MCP_DATABASE_URL is none (the store is SQLite)",
                                     fix: "set LINUX_MCP_DATABASE_URL to the PostgreSQL store too, or remove LINUX_MCP_CONSOLE_DATABASE_URL")
        }
        let databasePath = try database()
        let tokens = try text("LINUX_MCP_HTTP_TOKENS")
        return Settings(
            inventoryPath: try path("LINUX_MCP_INVENTORY"),
            knownHostsPath: try path("LINUX_MCP_KNOWN_HOSTS"),
            cataloguePath: try path("LINUX_MCP_CATALOGUE"),
            reader: AccountSettings(user: try user("LINUX_MCP_READER_USER"), privateKeyPath: try path("LINUX_MCP_READER_KEY")),
            runner: AccountSettings(user: try user("LINUX_MCP_RUNNER_USER"), privateKeyPath: try path("LINUX_MCP_RUNNER_KEY")),
            agentSocket: agentSocket,
            connectTimeout: .milliseconds(try integer("LINUX_MCP_CONNECT_TIMEOUT_MS", 100...60_000)),
            commandTimeout: .milliseconds(try integer("LINUX_MCP_COMMAND_TIMEOUT_MS", 100...600_000)),
            maxOutputBytes: try integer("LINUX_MCP_MAX_OUTPUT_BYTES", 1024...67_108_864),
            poolIdleTimeout: .seconds(try integer("LINUX_MCP_POOL_IDLE_SECONDS", 1...86_400)),
            keepaliveSeconds: try integer("LINUX_MCP_KEEPALIVE_SECONDS", 0...3600),
            maxHandshakesPerHost: try integer("LINUX_MCP_MAX_HANDSHAKES_PER_HOST", 1...10),
            maxSessionsPerHost: try integer("LINUX_MCP_MAX_SESSIONS_PER_HOST", 1...64),
            maxChannelsPerSession: try integer("LINUX_MCP_MAX_CHANNELS_PER_SESSION", 1...10),
            sshIOThreads: try integer("LINUX_MCP_SSH_IO_THREADS", 1...8),
            fanOutWidth: try integer("LINUX_MCP_FANOUT_WIDTH", 1...256),
            logLevel: level,
            databasePath: databasePath,
            databaseURL: sharedStore,
            consoleDatabaseURL: consoleStore,
            approvalPolicy: ApprovalPolicy(
                requiredApprovals: [.low: try integer("LINUX_MCP_APPROVALS_LOW", 1...5),
                                    .medium: try integer("LINUX_MCP_APPROVALS_MEDIUM", 1...5),
                                    .high: try integer("LINUX_MCP_APPROVALS_HIGH", 1...5)],
                proposalLifetime: .seconds(try integer("LINUX_MCP_PROPOSAL_TTL_SECONDS", 1...604_800)),
                approvalLifetime: .seconds(try integer("LINUX_MCP_APPROVAL_TTL_SECONDS", 1...86_400))),
            shutdownGrace: .seconds(try integer("LINUX_MCP_SHUTDOWN_GRACE_SECONDS", 0...3600)),
            executionLease: .seconds(try integer("LINUX_MCP_EXECUTION_LEASE_SECONDS", 3...3600)),
            maxMessageBytes: try integer("LINUX_MCP_MAX_MESSAGE_BYTES", 4096...67_108_864),
            auditWitnessSocket: try socketPath("LINUX_MCP_AUDIT_WITNESS"),
            httpTokensPath: tokens == "auto" ? (databasePath as NSString).deletingLastPathComponent + "/http-tokens" : try path("LINUX_MCP_HTTP_TOKENS"),
            httpListen: try listen(),
            httpOrigins: try origins(),
            httpSessionIdle: .seconds(try integer("LINUX_MCP_HTTP_SESSION_IDLE_SECONDS", 10...86_400)),
            httpMaxSessions: try integer("LINUX_MCP_HTTP_MAX_SESSIONS", 1...4096),
            httpKeepalive: .seconds(try integer("LINUX_MCP_HTTP_KEEPALIVE_SECONDS", 1...300)),
            httpMaxSessionsPerToken: try integer("LINUX_MCP_HTTP_MAX_SESSIONS_PER_TOKEN", 1...4096),
            httpMaxConnections: try integer("LINUX_MCP_HTTP_MAX_CONNECTIONS", 8...65_536))
    }

    private static func unknownKey(_ key: String, file: String, line: Int?) -> ConfigurationError {
        let names = definitions.map(\.name)
        let suggestion = names.min { EditDistance.between($0, key) < EditDistance.between($1, key) }
        let near = suggestion.map { EditDistance.between($0, key) <= 4 } == true
        return ConfigurationError(.unknownKey, file: file, line: line, field: key,
                                  problem: "unknown setting" + (near ? " (did you mean \(suggestion!)?)" : ""),
                                  fix: near ? "rename it to \(suggestion!)" : "remove it; the settings are listed in .env.example")
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
enum EditDistance {
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

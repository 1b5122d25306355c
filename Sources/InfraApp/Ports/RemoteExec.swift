import InfraDomain

/// One request to one host, through one of the two accounts' forced commands.
public struct RemoteRequest: Sendable, Equatable {
    /// The inventory host.
    public var host: InventoryHost
    /// The account: mcp-reader (mcp-wrapper) or pra-runner (pra-exec).
    public var account: Account
    /// The forced command's request line (the wrapper's grammar), never a shell command.
    public var command: String
    /// Bytes for the command's stdin (signed approvals for pra-exec), usually none.
    public var stdin: [UInt8]
    /// The longest this request may take, connecting included.
    public var timeout: Duration
    /// The proposal this request serves (empty for a diagnostic), for the audit row.
    public var proposalID: String

    /// Creates a request.
    public init(host: InventoryHost, account: Account, command: String, stdin: [UInt8] = [], timeout: Duration, proposalID: String = "") {
        self.host = host
        self.account = account
        self.command = command
        self.stdin = stdin
        self.timeout = timeout
        self.proposalID = proposalID
    }
}

/// Why a request got no answer from its host (unreachable, host key, authentication, timeout, lost connection).
public struct RemoteFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    /// Creates a failure with the transport's message.
    public init(_ description: String) { self.description = description }
}

/// How requests reach hosts (SSH through libssh2 today: ``SSHRemoteExec``).
///
/// The contract: ``run(_:)`` sends exactly one request and returns the forced command's answer (any exit
/// code is an answer), or throws ``RemoteFailure`` when there is none; it never retries a request that may
/// have started. It verifies the host's pinned key before authenticating, and keeps to `timeout`.
public protocol RemoteExec: Sendable {
    /// Runs one request.
    func run(_ request: RemoteRequest) async throws -> ExecResult
    /// How the last session to `host` as `user` authenticated (`agent`, `key-file`), if one did.
    func authenticationMethod(host: String, user: String) async -> String?
    /// Closes every connection, waiting at most `limit`.
    func shutdown(within limit: Duration) async
    /// What is open now (sessions, handshakes), for the metrics; ports that keep nothing open say ``RemoteLoad/idle``.
    func load() async -> RemoteLoad
}

import InfraDomain

/// Who asks the workflow to propose or cancel: the name recorded as the proposer (and the only one that may
/// cancel), and the MCP client's own name, kept beside it.
///
/// Over stdio the name is the OS account the server runs as (``ActionWorkflow/localCaller(client:)``); over
/// HTTP it is `token:` and the name of the bearer token the client presented (``name(ofToken:)``). The name is never taken from what the
/// client says about itself.
public struct Caller: Sendable, Equatable {
    /// The proposer: an OS account or a client token's name.
    public let name: String
    /// The MCP client's name from initialize (clientInfo.name), for the record only.
    public let client: String

    /// A caller named `name` (already authenticated by the adapter) using `client`.
    public init(name: String, client: String) {
        self.name = name
        self.client = client
    }

    /// The caller name of an HTTP client holding the token named `token`: `token:NAME`. Neither token names nor
    /// OS account names hold a `:`, so a token never takes an account's name, nor the right to cancel what a
    /// stdio client of that account proposed.
    public static func name(ofToken token: String) -> String { "token:\(token)" }

    /// This caller's actor name in the audit log and the transitions.
    public var actor: String { AuditActor.server(name) }
}

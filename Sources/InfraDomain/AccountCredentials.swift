/// The two SSH accounts the server uses on every target. Each has its own key, forced command and purpose.
public enum Account: String, Sendable, CaseIterable, Equatable, Hashable {
    /// `mcp-reader`: read-only diagnostics through mcp-wrapper.
    case reader
    /// `pra-runner`: approved actions through pra-exec and sudo pra-run.
    case runner
}

/// How the server authenticates as one account: the user name, the public key that identifies it
/// (used to pick the one agent identity to offer) and the private key file used when no agent has it.
public struct AccountCredentials: Sendable, Equatable {
    public var account: Account
    public var user: String
    public var publicKey: SSHPublicKey
    public var publicKeyPath: String
    /// The private key file, when there is one (an agent-only setup has none).
    public var privateKeyPath: String?
    /// The ssh-agent socket to ask first, if any.
    public var agentSocket: String?

    /// Creates credentials from their parts.
    public init(account: Account, user: String, publicKey: SSHPublicKey, publicKeyPath: String,
                privateKeyPath: String?, agentSocket: String?) {
        self.account = account
        self.user = user
        self.publicKey = publicKey
        self.publicKeyPath = publicKeyPath
        self.privateKeyPath = privateKeyPath
        self.agentSocket = agentSocket
    }
}

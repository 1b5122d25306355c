import InfraApp

/// One MCP session's identity: the caller's name, fixed by the adapter that authenticated it (the OS account
/// over stdio, the client token's name over HTTP), and the client's own name from initialize, kept beside it
/// for the record only.
actor SessionIdentity {
    /// The authenticated name: the proposer of what this session proposes, the actor of its audit rows.
    let name: String
    /// The MCP client's name (clientInfo.name), as recorded.
    private(set) var client = "unknown-client"

    /// A session for the caller `name`.
    init(name: String) {
        self.name = name
    }

    /// Records the client's name (clientInfo.name), limited to printable ASCII.
    func setClient(_ name: String) {
        let clean = String(name.prefix(64).filter { $0.isASCII && !$0.isNewline && ($0.isLetter || $0.isNumber || " ._-/@".contains($0)) })
        client = clean.isEmpty ? "unknown-client" : clean
    }

    /// The caller, as the workflow records it.
    var caller: Caller { Caller(name: name, client: client) }
}

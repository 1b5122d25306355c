/// What the MCP client said about itself at initialize (recorded with each proposal).
actor SessionInfo {
    private(set) var client = "unknown-client"

    /// Records the client's name (clientInfo.name), limited to printable ASCII.
    func setClient(_ name: String) {
        let clean = String(name.prefix(64).filter { $0.isASCII && !$0.isNewline && ($0.isLetter || $0.isNumber || " ._-/@".contains($0)) })
        client = clean.isEmpty ? "unknown-client" : clean
    }
}

/// The names of who did something, as the audit log and the transitions record them: one form each.
public enum AuditActor {
    /// The MCP server acting for its AI client, under the OS account it runs as.
    public static func server(_ user: String) -> String { "mcp:\(user)" }
    /// An approver, by the principal of the key that signed.
    public static func approver(_ principal: String) -> String { "key:\(principal)" }
    /// A person at the CLI, by OS account (a rejection needs no key).
    public static func account(_ user: String) -> String { "os:\(user)" }
    /// An approver in the review console, by the principal its SSH-signed login proved: what the console records
    /// as the OS account of its decisions (never an OS user's name, so never the proposer's).
    public static func console(_ principal: String) -> String { "console:\(principal)" }
    /// The product itself (expiry, recovery after a stop).
    public static let system = "system"
}

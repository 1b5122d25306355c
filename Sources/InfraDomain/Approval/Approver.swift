/// A person who may approve actions: a principal (their name, e.g. an e-mail address) and their SSH public
/// key. Approvers come from the inventory variable `mcp_approvers`, at any level (group and host
/// precedence as for every variable), so each host has its own list. The role renders that list into the
/// host's `allowed_signers`; the server reads the same inventory.
public struct Approver: Sendable, Equatable {
    public var principal: String
    public var key: SSHPublicKey

    /// Creates an approver.
    public init(principal: String, key: SSHPublicKey) {
        self.principal = principal
        self.key = key
    }

    /// The one allowed form of a principal, as a regular expression matched against the whole text: 1 to 128
    /// ASCII letters, digits and `_.@+-`, not starting with `-`. No spaces, commas, quotes or wildcards
    /// (allowed_signers syntax), and no leading `-`, since the principal is an argument of `ssh-keygen -Y
    /// verify -I`. The inventory (`mcp_approvers`) and the approval statement (`principal:`) both check it
    /// here; the target's pra-run checks the same form.
    public static let principalForm = "[A-Za-z0-9_.@+][A-Za-z0-9_.@+-]{0,127}"

    /// True when `text` is of ``principalForm``.
    public static func isValidPrincipal(_ text: String) -> Bool {
        text.wholeMatch(of: try! Regex(principalForm)) != nil
    }

    /// This approver as one line of OpenSSH's allowed_signers, limited to approval signatures.
    public var allowedSignersLine: String {
        "\(principal) namespaces=\"\(ApprovalStatement.namespace)\" \(key.openSSHText)"
    }

    /// A host's whole allowed_signers file: one line per approver, in the inventory's order.
    public static func allowedSigners(_ approvers: [Approver]) -> String {
        approvers.map(\.allowedSignersLine).joined(separator: "\n") + (approvers.isEmpty ? "" : "\n")
    }
}

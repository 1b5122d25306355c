import Foundation

/// What the server knows, besides the stored proposal, when it decides whether a signed approval counts:
/// the inventory (each host's approvers and longest approval window), the host keys pinned for each host,
/// and the clock skew. The state database is not trusted for any of these: they come from the operator's files.
public struct ApprovalContext: Sendable {
    /// The inventory hosts by name.
    public var hosts: [String: InventoryHost]
    /// The fingerprints pinned for each host (known_hosts), by host name.
    public var pinnedHostKeys: [String: [String]]
    /// The window a new statement gets when the host allows that long (LINUX_MCP_APPROVAL_TTL_SECONDS): a
    /// setting may only shorten a window, never stretch it past the host's `mcp_approval_max_window`.
    public var preferredWindow: TimeInterval
    /// Clock difference tolerated between the signer, the server and the target.
    public var skew: TimeInterval

    /// Creates a context.
    public init(hosts: [InventoryHost], pinnedHostKeys: [String: [String]], preferredWindow: TimeInterval, skew: TimeInterval = 120) {
        self.hosts = Dictionary(hosts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.pinnedHostKeys = pinnedHostKeys
        self.preferredWindow = preferredWindow
        self.skew = skew
    }

    /// The window a statement for `host` gets: the preferred one, at most the host's maximum.
    public func window(for host: InventoryHost) -> TimeInterval {
        min(preferredWindow, TimeInterval(host.approvalMaxWindow))
    }

    /// The facts a statement for this proposal must name, or why there are none (the host left the inventory).
    public func expected(proposalID: String, host name: String, action: String, parameters: [String: String],
                         catalogueVersion: String) throws(ApprovalVerification.Refusal) -> ApprovalVerification.Expected {
        guard let host = hosts[name] else {
            throw ApprovalVerification.Refusal(description: "host \(name) is no longer in the inventory: no approval for it counts")
        }
        return ApprovalVerification.Expected(proposalID: proposalID, host: host, hostKeyFingerprints: pinnedHostKeys[name] ?? [],
                                             action: action, parameters: parameters, catalogueVersion: catalogueVersion)
    }
}

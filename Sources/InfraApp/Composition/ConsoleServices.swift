import InfraDomain

/// The use cases the review console reaches, and nothing else: the review (read, statement, signed approval,
/// rejection), the audit log (search, export, login rows), its verification, the hosts' ledgers and the
/// fleet's reachability and drift. It holds no SSH key of an approver and no MCP server: a console session can
/// read, and decide only with a signature made elsewhere.
public struct ConsoleServices: Sendable {
    /// Read, statement, approve (signed), reject.
    public let review: ActionReview
    /// Audit search and export.
    public let audit: any AuditSink
    /// Audit rows of the console's own events (logins), group-committed with the server's.
    public let recorder: AuditRecorder
    /// `audit verify`: the chain, digests and signed approvals.
    public let verification: AuditVerification
    /// The hosts' ledgers (`audit verify --hosts`), or nil where no reader key is loaded.
    public let ledgers: HostLedgerReader?
    /// Reachability and drift of the fleet, or nil where no reader key is loaded.
    public let diagnostics: Diagnostics?
    /// The hosts, their approvers (`mcp_approvers`) among their variables.
    public let inventory: Inventory
    /// Each host's pinned host-key fingerprints (known_hosts), as a statement binds them.
    public let pinnedHostKeys: [String: [String]]
    /// The runner account's user on the hosts (for "runs as").
    public let runner: String
    /// The audit chain checked incrementally (shared with `/metrics`), for the audit page's status line.
    public let chain: AuditChainCheckpoint

    /// The console's services over any implementations of the ports (the composition root builds the real
    /// ones from the server's; tests pass in-memory ones).
    public init(review: ActionReview, audit: any AuditSink, recorder: AuditRecorder, verification: AuditVerification,
                ledgers: HostLedgerReader?, diagnostics: Diagnostics?, inventory: Inventory, pinnedHostKeys: [String: [String]],
                runner: String, chain: AuditChainCheckpoint = AuditChainCheckpoint()) {
        self.review = review
        self.audit = audit
        self.recorder = recorder
        self.verification = verification
        self.ledgers = ledgers
        self.diagnostics = diagnostics
        self.inventory = inventory
        self.pinnedHostKeys = pinnedHostKeys
        self.runner = runner
        self.chain = chain
    }

    /// Every approver of every host (one entry per principal and key), in inventory order: who may log in.
    public var approvers: [Approver] {
        inventory.hosts.flatMap(\.approvers).reduce(into: [Approver]()) { all, approver in
            if !all.contains(where: { $0.principal == approver.principal && $0.key.blob == approver.key.blob }) { all.append(approver) }
        }
    }
}

/// Who may approve, how many approvals each impact needs, and how long proposals and approvals live.
/// Pure rules; the store applies them inside its write transactions.
public struct ApprovalPolicy: Sendable, Equatable {
    /// Distinct approvers needed per impact level.
    public var requiredApprovals: [ActionCatalogue.Impact: Int]
    /// How long a proposal waits for its approvals before it expires.
    public var proposalLifetime: Duration
    /// How long an approved action may wait for execution before it expires.
    public var approvalLifetime: Duration

    /// Creates a policy.
    public init(requiredApprovals: [ActionCatalogue.Impact: Int], proposalLifetime: Duration, approvalLifetime: Duration) {
        self.requiredApprovals = requiredApprovals
        self.proposalLifetime = proposalLifetime
        self.approvalLifetime = approvalLifetime
    }

    /// Approvals needed for an impact (at least one).
    public func approvalsNeeded(for impact: ActionCatalogue.Impact) -> Int { max(1, requiredApprovals[impact] ?? 1) }

    /// Approvals an action of `impact` needs on `host`: the inventory's number for that host (the same one
    /// the role renders for the host to enforce), else the server's setting.
    public func approvalsNeeded(for impact: ActionCatalogue.Impact, on host: InventoryHost) -> Int {
        max(1, host.requiredApprovals[impact] ?? approvalsNeeded(for: impact))
    }

    /// One human decision already recorded on a proposal.
    public struct Decision: Sendable, Equatable {
        public var approver: String
        public var approves: Bool
        /// The fingerprint of the key that signed an approval (nil for a rejection or an unsigned row).
        public var key: String?
        /// Creates a decision.
        public init(approver: String, approves: Bool, key: String? = nil) {
            self.approver = approver
            self.approves = approves
            self.key = key
        }
    }

    /// Checks an approval by `approver`, signed with the key whose fingerprint is `key`, and says whether it
    /// completes the proposal's approvals. One key is one approver: a key that already approved under
    /// another principal does not count again.
    /// - Returns: the number of distinct approver keys once this one is counted.
    public func checkApproval(proposer: String, impact: ActionCatalogue.Impact, approver: String, key: String, reason: String?,
                              earlier: [Decision]) throws(ApprovalRefusal) -> Int {
        guard approver != proposer else { throw .selfApproval(approver) }
        guard !earlier.contains(where: { $0.approver == approver }) else { throw .alreadyDecided(approver) }
        if let same = earlier.first(where: { $0.approves && $0.key == key }) { throw .sameKey(approver, same.approver, key) }
        if impact == .high && (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty { throw .reasonRequired("approve a HIGH-impact action") }
        return Set(earlier.filter(\.approves).compactMap(\.key)).count + 1
    }

    /// Checks a rejection: a reason is required, and the proposer cannot reject their own proposal (they cancel it).
    public func checkRejection(proposer: String, approver: String, reason: String?, earlier: [Decision]) throws(ApprovalRefusal) {
        guard approver != proposer else { throw .selfApproval(approver) }
        guard !earlier.contains(where: { $0.approver == approver }) else { throw .alreadyDecided(approver) }
        if (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty { throw .reasonRequired("reject") }
    }
}

/// Why a human decision was not recorded.
public enum ApprovalRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case selfApproval(String)
    case alreadyDecided(String)
    case reasonRequired(String)
    case sameKey(String, String, String)

    public var description: String {
        switch self {
        case .selfApproval(let user): "\(user) proposed this action (the MCP server runs as \(user)) and cannot decide on it; another person must"
        case .alreadyDecided(let user): "\(user) has already decided on this action; each approver counts once"
        case .reasonRequired(let what): "a reason is required to \(what): add --reason \"...\""
        case .sameKey(let user, let earlier, let key):
            "\(user) signs with the key \(key), which already approved this action as \(earlier): one key is one approver, "
                + "however many principals list it"
        }
    }
}

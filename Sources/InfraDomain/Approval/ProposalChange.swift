import Foundation

/// Everything one decision about a stored proposal writes, decided by ``ProposalRules`` and written by the
/// action store in one transaction: all of it or none of it. A store adds nothing and decides nothing.
public struct ProposalChange: Sendable, Equatable {
    /// The state change and its record (`from` is the state the rules saw; the store writes it only if the
    /// proposal is still in that state, and otherwise refuses the whole change).
    public var transition: ProposalRecord.Transition?
    /// A human decision to add.
    public var decision: ProposalRecord.Decision?
    /// When the proposal became APPROVED and until when it may run.
    public var approval: (approvedAt: Date, expiresAt: Date)?
    /// The execution claimed (inserted whole), or renewed or finished: then only the stored one's lease deadline
    /// (``ExecutionOwner/leaseUntil``) and result fields are replaced; the executor, the owner's host, PID and start
    /// time, and the start stay the claim's.
    public var execution: ProposalRecord.Execution?
    /// Audit rows appended in this same transaction, in this order (the transition's own row among them).
    public var audit: [AuditChain.Record]

    /// Creates a change.
    public init(transition: ProposalRecord.Transition? = nil, decision: ProposalRecord.Decision? = nil,
                approval: (approvedAt: Date, expiresAt: Date)? = nil, execution: ProposalRecord.Execution? = nil,
                audit: [AuditChain.Record] = []) {
        self.transition = transition
        self.decision = decision
        self.approval = approval
        self.execution = execution
        self.audit = audit
    }

    public static func == (lhs: ProposalChange, rhs: ProposalChange) -> Bool {
        lhs.transition == rhs.transition && lhs.decision == rhs.decision && lhs.approval?.approvedAt == rhs.approval?.approvedAt
            && lhs.approval?.expiresAt == rhs.approval?.expiresAt && lhs.execution == rhs.execution && lhs.audit == rhs.audit
    }
}

/// What a store shows of the audit chain inside the transaction that decides a change: its head, and the hash
/// of any row (a signed approval names a row that must still be there with that hash).
public struct ChainView {
    /// The last row, or nil when the log is empty.
    public var head: AuditChain.Anchor?
    /// The hash of the row with this sequence number, or nil when there is none.
    public var hashAt: (Int64) -> String?

    /// Creates a view.
    public init(head: AuditChain.Anchor?, hashAt: @escaping (Int64) -> String?) {
        self.head = head
        self.hashAt = hashAt
    }
}

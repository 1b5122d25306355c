import InfraDomain

/// Where proposals, decisions, transitions and executions are kept (SQLite today: InfraStoreSQLite).
///
/// The contract, which the store conformance suite checks on every implementation:
/// - ``update(_:_:)`` runs `decide` on the proposal as stored and writes the change it returns in ONE
///   transaction, exclusive against every other update of any proposal, in any process or machine sharing
///   the store: two concurrent claims of one approval see each other, so exactly one runs.
/// - A change is written whole or not at all: its decision, approval window, execution, transition (only if
///   the proposal is still in the transition's `from` state, else ``Refusal/Code/wrongState``) and its audit
///   rows, which join the same chain as ``AuditSink`` appends, in order. A change with an execution and
///   nothing else (a lease renewal) writes only that execution's lease deadline: no transition, no row.
/// - A stored execution keeps its lease deadline (``ExecutionOwner/leaseUntil``) as the last change wrote it,
///   the claim's own included; servers on other machines judge a run's owner by it.
/// - Nothing is decided here: no rule, no actor name, no clock in what is written (the change carries its times).
/// - A missing id is ``Refusal/Code/notFound``; a store written by a newer release is refused when opened.
public protocol ActionStore: Sendable {
    /// Inserts a new proposal with its transitions and audit rows, in one transaction.
    func insert(_ record: ProposalRecord, audit: [AuditChain.Record]) throws
    /// One proposal, or nil when no proposal has this id.
    func load(_ id: String) throws -> ProposalRecord?
    /// The ids starting with `prefix` (already lowercase hex and dashes), in order, at most `limit`.
    func ids(withPrefix prefix: String, limit: Int) throws -> [String]
    /// Proposals in the given states (every state when empty), newest first.
    func list(states: [ActionLifecycle.State]) throws -> [ProposalRecord]
    /// How many proposals each state holds, as stored (states without any may be absent).
    func stateCounts() throws -> [ActionLifecycle.State: Int]
    /// Decides and writes one change atomically (see the contract); returns the proposal and the audit head
    /// as committed.
    func update(_ id: String, _ decide: (ProposalRecord, ChainView) throws -> ProposalChange?) throws
        -> (record: ProposalRecord, head: AuditChain.Anchor?)
}

extension ActionStore {
    /// Counts what ``list(states:)`` returns; a store that can count without loading proposals does so itself.
    public func stateCounts() throws -> [ActionLifecycle.State: Int] {
        try list(states: []).reduce(into: [:]) { $0[$1.state, default: 0] += 1 }
    }
}

import Foundation
import InfraApp
import InfraDomain

/// The action store and the audit sink in memory, for the use-case tests: one object implements both ports,
/// so the audit rows a proposal's change carries join the same chain as the sink's appends, as they do in
/// one SQLite file.
///
/// It keeps the ports' contracts (the store conformance suite runs against it too): every ``update(_:_:)``
/// runs `decide` and writes its change under one lock, so updates are serialized; a change is applied to a
/// copy and committed whole, or not at all (a transition whose `from` is not the stored state is
/// ``Refusal/Code/wrongState``); audit rows are sealed with ``AuditChain/seal(_:previousHash:)`` in order.
/// It also mirrors what SQLite's schema refuses (a second proposal with one id, a second decision by one
/// approver). A call into the store from inside `decide` is a test's mistake and is refused with
/// ``Misuse`` (SQLite would deadlock or fail the same way).
///
/// ``tamper(_:_:)`` and ``tamperChain(_:)`` change stored data behind the ports' back, as someone with
/// write access to the database would; tests use them to show what the use cases then refuse.
public final class InMemoryStore: ActionStore, AuditSink, @unchecked Sendable {
    private let lock = NSRecursiveLock()
    private var proposals: [String: ProposalRecord] = [:]
    private var rows: [AuditChain.Record] = []
    private var deciding = false

    /// Why a call was refused that no product path makes.
    public struct Misuse: Error, CustomStringConvertible {
        public var description: String
    }

    /// An empty store.
    public init() {}

    // MARK: ActionStore

    public func insert(_ record: ProposalRecord, audit: [AuditChain.Record]) throws {
        try locked {
            guard proposals[record.id] == nil else { throw Misuse(description: "a proposal with id \(record.id) exists (primary key)") }
            var chain = rows
            for row in audit { Self.append(row, to: &chain, at: record.createdAt) }
            proposals[record.id] = record
            rows = chain
        }
    }

    public func load(_ id: String) throws -> ProposalRecord? {
        try locked { proposals[id] }
    }

    public func ids(withPrefix prefix: String, limit: Int) throws -> [String] {
        try locked { Array(proposals.keys.filter { $0.hasPrefix(prefix) }.sorted().prefix(max(0, limit))) }
    }

    public func list(states: [ActionLifecycle.State]) throws -> [ProposalRecord] {
        try locked {
            proposals.values.filter { states.isEmpty || states.contains($0.state) }
                .sorted { ($0.createdAt, $1.id) > ($1.createdAt, $0.id) }
        }
    }

    public func update(_ id: String, _ decide: (ProposalRecord, ChainView) throws -> ProposalChange?) throws
        -> (record: ProposalRecord, head: AuditChain.Anchor?) {
        try locked {
            guard let record = proposals[id] else { throw Refusal(.notFound, "no action with id '\(id)'") }
            let snapshot = rows
            let hashes = Dictionary(snapshot.map { ($0.seq, $0.hash) }, uniquingKeysWith: { first, _ in first })
            deciding = true
            let change: ProposalChange?
            do {
                defer { deciding = false }
                change = try decide(record, ChainView(head: Self.head(of: snapshot), hashAt: { hashes[$0] }))
            }
            if let change {
                var chain = rows
                proposals[id] = try Self.apply(change, to: record, chain: &chain)
                rows = chain
            }
            return (proposals[id]!, Self.head(of: rows))
        }
    }

    /// The change applied to a copy of `record`, and its rows to a copy of the chain: the caller commits both or neither.
    static func apply(_ change: ProposalChange, to record: ProposalRecord, chain: inout [AuditChain.Record]) throws -> ProposalRecord {
        var stored = record
        let date = change.transition?.at ?? change.decision?.at ?? Date()
        if let decision = change.decision {
            guard !stored.decisions.contains(where: { $0.approver == decision.approver }) else {
                throw Misuse(description: "\(decision.approver) already has a decision on \(record.id) (primary key)")
            }
            stored.decisions.append(decision)
            stored.decisions.sort { ($0.at, $0.approver) < ($1.at, $1.approver) }
        }
        if let approval = change.approval {
            stored.approvedAt = approval.approvedAt
            stored.approvalExpiresAt = approval.expiresAt
        }
        if let run = change.execution {
            // The claim inserts the whole execution; later changes (a renewal, the result) replace only its lease and result fields.
            var execution = stored.execution ?? run
            execution.owner.leaseUntil = run.owner.leaseUntil
            execution.finishedAt = run.finishedAt
            execution.exitCode = run.exitCode
            execution.stdout = run.stdout
            execution.stderr = run.stderr
            execution.verification = run.verification
            execution.verified = run.verified
            stored.execution = execution
        }
        if let transition = change.transition {
            guard let from = transition.from, from == record.state else {
                throw Refusal(.wrongState, "the action changed state meanwhile; read it again")
            }
            stored.state = transition.to
            stored.transitions.append(transition)
        }
        for row in change.audit { append(row, to: &chain, at: date) }
        return stored
    }

    // MARK: AuditSink

    public func append(_ records: [AuditChain.Record]) async throws {
        try locked {
            var chain = rows
            let now = Date()
            for record in records { Self.append(record, to: &chain, at: now) }
            rows = chain
        }
    }

    public func records(_ filter: AuditFilter) throws -> [AuditChain.Record] {
        try locked {
            let matching = rows.filter(filter.matches)
            guard let limit = filter.limit else { return matching }
            return Array(matching.suffix(max(0, limit)))
        }
    }

    public func head() throws -> AuditChain.Anchor? {
        try locked { Self.head(of: rows) }
    }

    // MARK: Behind the ports' back

    /// Every audit row, oldest first.
    public var chain: [AuditChain.Record] { lock.withLock { rows } }

    /// Edits a stored proposal directly (as an UPDATE on the database would); nothing is audited.
    public func tamper(_ id: String, _ edit: (inout ProposalRecord) -> Void) {
        lock.withLock {
            guard var record = proposals[id] else { return }
            edit(&record)
            proposals[id] = record
        }
    }

    /// Edits the stored audit rows directly (rows changed, removed or re-sealed behind the sink's back).
    public func tamperChain(_ edit: (inout [AuditChain.Record]) -> Void) {
        lock.withLock { edit(&rows) }
    }

    /// Removes a stored proposal and everything of it, leaving its audit rows.
    public func delete(_ id: String) {
        lock.withLock { _ = proposals.removeValue(forKey: id) }
    }

    // MARK: Internals

    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        // The lock is recursive only so that this is caught instead of hanging.
        guard !deciding else { throw Misuse(description: "a store call from inside update's decide") }
        return try body()
    }

    static func append(_ record: AuditChain.Record, to chain: inout [AuditChain.Record], at date: Date) {
        var row = record
        row.seq = (chain.last?.seq ?? 0) + 1
        if row.at.isEmpty { row.at = AuditChain.timestamp(date) }
        chain.append(AuditChain.seal(row, previousHash: chain.last?.hash ?? AuditChain.genesis))
    }

    static func head(of chain: [AuditChain.Record]) -> AuditChain.Anchor? {
        chain.last.map { AuditChain.Anchor(seq: $0.seq, hash: $0.hash) }
    }
}

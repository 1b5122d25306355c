import Foundation
import InfraDomain

/// `audit verify`: what anyone holding the approvers' public keys can prove about the log.
///
/// 1. The chain: every row is sealed to the one before it.
/// 2. Anchors an operator saved elsewhere (`--anchor SEQ:HASH`).
/// 3. Every stored proposal's digest recomputes from its action, host, parameters and catalogue.
/// 4. Every stored signed approval: its signature is by a key the inventory lists for its principal on its
///    host, it names what the proposal stores (and its digest recomputes from what it names), and the audit
///    head it names is still in the chain with that hash. Cutting rows off the end, or rewriting history from
///    before the latest approval, breaks one of these.
/// 5. With `--hosts`: every entry of every host's ledger (what its root side ran), read page by page, is
///    reconciled with the store: a proposal with that id, host, action and parameters; the ledger's signatures
///    equal to the decisions stored; a state that says it ran; an execution in the audit chain; each statement
///    verifying and anchoring, and the audit head the server sent with it still in the chain. Executions the
///    store records as run on a host with no ledger entry there are named too.
public struct AuditVerification: Sendable {
    let store: any ActionStore
    let audit: any AuditSink
    /// The approvers of each host (the operator's inventory, not the store).
    let inventory: Inventory

    /// A verifier over the inventory's approvers, the action store and the audit log.
    public init(store: any ActionStore, audit: any AuditSink, inventory: Inventory) {
        self.store = store
        self.audit = audit
        self.inventory = inventory
    }

    /// What a run found.
    public struct Report: Sendable {
        public var rows = 0
        public var head: AuditChain.Anchor?
        /// Problems, each naming the row, proposal or host; empty when everything holds.
        public var problems: [String] = []
        /// What could not be checked, and why (a host out of reach, a key or file this account cannot read): no
        /// finding, but no proof either.
        public var unchecked: [String] = []
        public var anchorsHeld = 0
        public var statementsChecked = 0
        public var ledgerEntriesChecked = 0
        /// What the witness of the head showed (``verifyWitness(_:report:)``), one line; empty when not checked.
        public var witness = ""
    }

    /// How long a host keeps ledger entries (pra-run prunes older ones): older executions are not looked for.
    public static let ledgerRetention: TimeInterval = 89 * 86_400

    /// Checks the chain, the given anchors, every stored digest and every stored signed approval.
    public func verifyLog(anchors: [AuditChain.Anchor]) throws -> Report {
        var report = Report()
        let records = try audit.records(AuditFilter())
        report.rows = records.count
        report.head = records.last.map { AuditChain.Anchor(seq: $0.seq, hash: $0.hash) }
        if let broken = AuditChain.verify(records) {
            report.problems.append("row \(broken.seq): \(broken.problem)")
        }
        for anchor in anchors {
            if let broken = AuditChain.check(anchor, in: records) { report.problems.append("--anchor \(anchor): \(broken.problem)") } else { report.anchorsHeld += 1 }
        }
        var proposals: [String: ProposalRecord] = [:]
        let lifecycles = Self.lifecycles(records)
        let stored = try store.list(states: [])
        let finishRows = Dictionary(records.filter { $0.kind == "state" && Self.finished.contains($0.outcome) }.map { ($0.proposalID, $0) },
                                    uniquingKeysWith: { $1 })
        for proposal in stored {
            proposals[proposal.id] = proposal
            if let problem = Self.lifecycleProblem(lifecycles[proposal.id] ?? [], stored: proposal.state) {
                report.problems.append("proposal \(proposal.id): \(problem)")
            }
            if let problem = Self.executionProblem(proposal, finishRow: finishRows[proposal.id], states: lifecycles[proposal.id] ?? []) {
                report.problems.append("proposal \(proposal.id): \(problem)")
            }
            do {
                _ = try ApprovalDigest.recompute(stored: proposal.digest, action: proposal.action, host: proposal.host,
                                                 parameters: proposal.parameters, catalogueVersion: proposal.catalogueVersion)
            } catch {
                report.problems.append("proposal \(proposal.id): \(error)")
            }
        }
        var missing: [(Int64, String)] = []
        let decisions = stored.flatMap { proposal in proposal.decisions.filter(\.approves).map { (proposal, $0) } }.sorted {
            ($0.1.at, $0.0.id, $0.1.approver) < ($1.1.at, $1.0.id, $1.1.approver)
        }
        for (proposal, decision) in decisions {
            let label = "approval by \(TerminalText.escaped(decision.approver)) of proposal \(proposal.id)"
            guard let signed = decision.signed else {
                report.problems.append("\(label): no signature (it never counted)")
                continue
            }
            report.statementsChecked += 1
            if let problem = check(signed, host: proposal.host, proposalID: proposal.id, records: records, proposal: proposal) {
                if let seq = problem.missingAuditRow { missing.append((seq, "\(label): \(problem)")) } else { report.problems.append("\(label): \(problem)") }
            }
        }
        for id in lifecycles.keys.sorted() where proposals[id] == nil {
            report.problems.append("proposal \(id): the audit log records it, but the store has none (its rows were deleted)")
        }
        // The newest anchored row that is gone names how far the log was cut.
        report.problems += missing.sorted { $0.0 > $1.0 }.map(\.1)
        return report
    }

    /// Reads every host's whole ledger through the reader account, page by page, and reconciles each entry
    /// with the store and the chain; then names executions the store records with no ledger entry.
    public func verifyHosts(ledgers: HostLedgerReader, report: inout Report, now: Date = Date()) async throws {
        let records = try audit.records(AuditFilter())
        let executed = Set(records.filter { $0.kind == "state" && $0.outcome == ActionLifecycle.State.executing.rawValue }.map(\.proposalID))
        let proposals = Dictionary(try store.list(states: []).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let ran = Self.runsInChain(records)
        for host in inventory.hosts {
            let entries: [LedgerEntry]
            do {
                entries = try await ledgers.entries(of: host)
            } catch let problem as HostLedgerReader.Problem where problem.isFinding {
                report.problems.append("host \(host.name): its ledger: \(problem)")
                continue
            } catch {
                report.unchecked.append("host \(host.name): cannot read its ledger: \(error)")
                continue
            }
            for entry in entries {
                report.ledgerEntriesChecked += 1
                report.problems += reconcile(entry, host: host.name, proposal: proposals[entry.id], executed: executed, records: records)
            }
            // Executions the chain records as run on this host (exit 0, or a failure after the ledger entry was
            // made) must have a ledger entry there. The chain, not the execution table: its rows cannot be rewritten unseen.
            let inLedger = Set(entries.map(\.id))
            for run in ran where run.host == host.name && !inLedger.contains(run.id) && now.timeIntervalSince(run.at) < Self.ledgerRetention {
                report.problems.append("proposal \(run.id): the audit log records it ran on \(host.name) (exit \(run.exit)), "
                                       + "but the host's ledger has no entry for it")
            }
        }
    }

    /// What does not hold about one ledger entry (empty when it reconciles).
    func reconcile(_ entry: LedgerEntry, host: String, proposal: ProposalRecord?, executed: Set<String>,
                   records: [AuditChain.Record]) -> [String] {
        let label = "host \(host), ledger entry \(TerminalText.escaped(entry.id))"
        guard let proposal else {
            return ["\(label): ran on the host, but the store has no such proposal (its rows and decisions were deleted)"]
        }
        var problems: [String] = []
        if proposal.host != host {
            problems.append("\(label): ran on \(host), but the store says the proposal is for \(TerminalText.escaped(proposal.host))")
        }
        if let action = entry.action, action != proposal.action || entry.parameters != proposal.parameters {
            problems.append("\(label): the host ran \(TerminalText.escaped(entry.describedRequest)), but the store says "
                            + "\(TerminalText.escaped(proposal.action)) \(proposal.parameters.keys.sorted().map { "\($0)=\(proposal.parameters[$0]!)" }.joined(separator: " ")) "
                            + "(the row was rewritten)")
        } else if entry.action == nil {
            problems.append("\(label): the entry does not record the action and parameters that ran (written by an older pra-run?)")
        }
        let ranStates: Set<ActionLifecycle.State> = [.executing, .completed, .failed, .interrupted]
        if !ranStates.contains(proposal.state) {
            problems.append("\(label): ran on the host while the store says it is \(proposal.state.rawValue)")
        }
        if !executed.contains(proposal.id) {
            problems.append("\(label): no execution of it is recorded in the audit log")
        }
        let stored = Set(proposal.decisions.filter(\.approves).compactMap(\.signed).map { $0.statement + "\u{0}" + $0.signature })
        let ledgered = Set(entry.approvals.map { $0.statement + "\u{0}" + $0.signature })
        if entry.approvals.isEmpty {
            problems.append("\(label): no statement in the entry")
        } else if stored != ledgered {
            problems.append("\(label): the signatures the host verified (\(ledgered.count)) are not the approvals stored for it (\(stored.count))")
        }
        for signed in entry.approvals {
            if let problem = check(signed, host: host, proposalID: entry.id, records: records, proposal: nil) {
                problems.append("\(label): \(problem)")
            }
        }
        // The server sends the head with its own claim row in it: a run without one went past the server.
        if let head = entry.head {
            if let broken = AuditChain.check(head, in: records) {
                problems.append("\(label): the audit head sent with it (\(head)) does not hold: \(broken.problem)")
            } else if let row = records.first(where: { $0.seq == head.seq }),
                      row.kind != "state" || row.proposalID != entry.id || row.outcome != ActionLifecycle.State.executing.rawValue {
                problems.append("\(label): the audit head sent with it (row \(head.seq)) is not this proposal's execution claim")
            }
        } else {
            problems.append("\(label): no audit head came with it: it was sent past the server")
        }
        return problems
    }

    /// The states each proposal went through, in the chain's order (the `state` rows; refusals left out).
    /// The states whose audit row seals a run's result.
    static let finished: Set<String> = [ActionLifecycle.State.completed.rawValue, ActionLifecycle.State.failed.rawValue]

    /// Why a proposal's stored execution disagrees with the chain, or nil: an execution row for a proposal the chain
    /// never saw claimed, a finished run without one, or a result that is not the one its finish row sealed.
    static func executionProblem(_ proposal: ProposalRecord, finishRow: AuditChain.Record?, states: [ActionLifecycle.State]) -> String? {
        if proposal.execution != nil, !states.contains(.executing) {
            return "an execution row is stored, but the audit log never records its claim (EXECUTING): the row was written outside a claim"
        }
        if proposal.state == .interrupted, let execution = proposal.execution { return ExecutionResultCheck.interruptedProblem(execution) }
        guard Self.finished.contains(proposal.state.rawValue) else { return nil }
        guard let execution = proposal.execution else { return "it is \(proposal.state.rawValue) but no execution is stored (the row was removed)" }
        guard let finishRow else { return nil }
        return ExecutionResultCheck.problem(execution, finishRow: finishRow)
    }

    static func lifecycles(_ records: [AuditChain.Record]) -> [String: [ActionLifecycle.State]] {
        var states: [String: [ActionLifecycle.State]] = [:]
        for record in records where record.kind == "state" {
            if let state = ActionLifecycle.State(rawValue: record.outcome) { states[record.proposalID, default: []].append(state) }
        }
        return states
    }

    /// Why a proposal's states in the chain are not a legal lifecycle ending in its stored state, or nil.
    static func lifecycleProblem(_ states: [ActionLifecycle.State], stored: ActionLifecycle.State) -> String? {
        guard states.first == .proposed else { return "the audit log does not record its proposal" }
        for (from, to) in zip(states, states.dropFirst()) where !ActionLifecycle.transitions.contains(where: { $0.0 == from && $0.2 == to }) {
            return "the audit log records \(from.rawValue) -> \(to.rawValue), which no action can do (state rows were forged into the log)"
        }
        guard states.last == stored else {
            return "the store says \(stored.rawValue), but the audit log's last state for it is \(states.last!.rawValue) (the store was rewritten)"
        }
        return nil
    }

    /// The runs the chain records as finished after pra-run's ledger entry (COMPLETED or FAILED with such an exit).
    static func runsInChain(_ records: [AuditChain.Record]) -> [(id: String, host: String, exit: Int, at: Date)] {
        let finished: Set<String> = [ActionLifecycle.State.completed.rawValue, ActionLifecycle.State.failed.rawValue]
        return records.compactMap { record in
            guard record.kind == "state", finished.contains(record.outcome),
                  let detail = try? JSONDecoder().decode([String: String].self, from: Data(record.detail.utf8)),
                  let exit = detail["exit"].flatMap(Int.init), TargetExitCode.afterLedgerEntry.contains(exit) else { return nil }
            return (record.proposalID, record.host, exit, AuditChain.date(record.at) ?? Date())
        }
    }

    /// Why a stored or ledgered signed approval does not hold, or nil when it does: the one check of
    /// ``ApprovalVerification``, as history (its window is not checked, and the host's
    /// key may have been rotated since). It must name `proposalID` on `host` and, when known, the proposal's
    /// stored action, parameters and catalogue; otherwise what the statement itself names, whose digest must
    /// recompute. Its audit head must still be in `records` with that hash.
    func check(_ signed: SignedApproval, host name: String, proposalID: String, records: [AuditChain.Record],
               proposal: ProposalRecord?) -> ApprovalVerification.Refusal? {
        guard let host = inventory.host(named: name) else {
            return .init(description: "host \(name) is not in the inventory: its approvers' keys are unknown")
        }
        let named = try? ApprovalStatement.parse(signed.statement)
        let expected = ApprovalVerification.Expected(
            proposalID: proposalID, host: host, hostKeyFingerprints: nil, action: proposal?.action ?? named?.action ?? "",
            parameters: proposal?.parameters ?? named?.parameters ?? [:], catalogueVersion: proposal?.catalogueVersion ?? named?.catalogueVersion ?? "")
        let hashes = Dictionary(records.map { ($0.seq, $0.hash) }, uniquingKeysWith: { first, _ in first })
        do {
            _ = try ApprovalVerification.verify(statement: signed.statement, signature: signed.signature, expected: expected, now: nil,
                                                auditHashAt: { hashes[$0] })
            return nil
        } catch {
            return error
        }
    }
}

import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import InfraStore

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
    public let configuration: ReviewConfiguration
    public let database: StateDatabase

    /// A verifier over a configuration's approvers and a state database.
    public init(configuration: ReviewConfiguration, database: StateDatabase) {
        self.configuration = configuration
        self.database = database
    }

    /// What a run found.
    public struct Report: Sendable {
        public var rows = 0
        public var head: AuditChain.Anchor?
        /// Problems, each naming the row, proposal or host; empty when everything holds.
        public var problems: [String] = []
        public var anchorsHeld = 0
        public var statementsChecked = 0
        public var ledgerEntriesChecked = 0
        /// What the witness of the head showed (``verifyWitness(_:report:)``), one line; empty when not checked.
        public var witness = ""
    }

    /// How long a host keeps ledger entries (pra-run prunes older ones): older executions are not looked for.
    public static let ledgerRetention: TimeInterval = 89 * 86_400
    /// Entries asked for per page: small enough that a page of HIGH entries stays far below the output cap
    /// (a page that was cut short anyway is an error, never the end of the ledger).
    static let ledgerPage = 100

    /// Checks the chain, the given anchors, every stored digest and every stored signed approval.
    public func verifyLog(anchors: [AuditChain.Anchor]) throws -> Report {
        var report = Report()
        let log = AuditLog(database: database)
        let records = try log.records()
        report.rows = records.count
        report.head = records.last.map { AuditChain.Anchor(seq: $0.seq, hash: $0.hash) }
        if let broken = AuditChain.verify(records) {
            report.problems.append("row \(broken.seq): \(broken.problem)")
        }
        for anchor in anchors {
            if let broken = AuditChain.check(anchor, in: records) { report.problems.append("--anchor \(anchor): \(broken.problem)") } else { report.anchorsHeld += 1 }
        }
        let store = ProposalStore(database: database, policy: configuration.settings.approvalPolicy)
        var proposals: [String: ProposalRecord] = [:]
        let lifecycles = Self.lifecycles(records)
        for proposal in try store.list() {
            proposals[proposal.id] = proposal
            if let problem = Self.lifecycleProblem(lifecycles[proposal.id] ?? [], stored: proposal.state) {
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
        for stored in try store.signedApprovals() {
            report.statementsChecked += 1
            let label = "approval by \(TerminalText.escaped(stored.principal)) of proposal \(stored.proposalID)"
            switch check(stored.signed, host: stored.host, proposalID: stored.proposalID, records: records, proposal: proposals[stored.proposalID]) {
            case .failure(let problem):
                if case .missingRow(let seq, let text) = problem { missing.append((seq, "\(label): \(text)")) } else { report.problems.append("\(label): \(problem)") }
            case .success: break
            }
        }
        for id in lifecycles.keys.sorted() where proposals[id] == nil {
            report.problems.append("proposal \(id): the audit log records it, but the store has none (its rows were deleted)")
        }
        for unsigned in try store.unsignedApprovals() {
            report.problems.append("approval by \(TerminalText.escaped(unsigned.principal)) of proposal \(unsigned.proposalID): no signature (it never counted)")
        }
        // The newest anchored row that is gone names how far the log was cut.
        report.problems += missing.sorted { $0.0 > $1.0 }.map(\.1)
        return report
    }

    /// Reads every host's whole ledger through the reader account, page by page, and reconciles each entry
    /// with the store and the chain; then names executions the store records with no ledger entry.
    public func verifyHosts(pool: SSHPool, reader: AccountCredentials, report: inout Report, now: Date = Date()) async throws {
        let store = ProposalStore(database: database, policy: configuration.settings.approvalPolicy)
        let records = try AuditLog(database: database).records()
        let executed = Set(records.filter { $0.kind == "state" && $0.outcome == ActionLifecycle.State.executing.rawValue }.map(\.proposalID))
        let proposals = Dictionary(try store.list().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let ran = Self.runsInChain(records)
        for host in configuration.inventory.hosts {
            let entries: [LedgerEntry]
            do {
                entries = try await ledger(of: host, pool: pool, reader: reader)
            } catch {
                report.problems.append("host \(host.name): cannot read its ledger: \(error)")
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

    /// Every entry of one host's ledger, oldest id first, in pages of ``ledgerPage``.
    func ledger(of host: InventoryHost, pool: SSHPool, reader: AccountCredentials) async throws -> [LedgerEntry] {
        var entries: [LedgerEntry] = []
        var after: String?
        while true {
            let command = "ledger lines=\(Self.ledgerPage)" + (after.map { " after=\($0)" } ?? "")
            let answer = try await pool.execute(host: host, credentials: reader, command: command, timeout: .seconds(60))
            guard !answer.stdoutTruncated else {
                throw AuditVerification.Problem.invalid("a ledger page was cut at the output cap (LINUX_MCP_MAX_OUTPUT_BYTES): the entries "
                                                        + "after \(after ?? "the first") were not read")
            }
            guard answer.exitCode == 0 else {
                throw AuditVerification.Problem.invalid("ledger exit \(answer.exitCode.map(String.init) ?? "?"): "
                                                        + TerminalText.escaped(String(answer.stderrText.prefix(200))))
            }
            let page = LedgerEntry.parse(answer.stdoutText)
            // Ids come in ascending order, each after the last page's: anything else is not a ledger read to the end.
            let ids = page.map(\.id)
            for (previous, next) in zip((after.map { [$0] } ?? []) + ids, after == nil ? Array(ids.dropFirst()) : ids) where next <= previous {
                throw AuditVerification.Problem.invalid("the ledger's entries did not come in ascending order (\(TerminalText.escaped(next)) after "
                                                        + "\(TerminalText.escaped(previous))): it cannot be read to the end")
            }
            entries += page
            guard page.count >= Self.ledgerPage, let last = page.last?.id, last != after else { return entries }
            after = last
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
            if case .failure(let problem) = check(signed, host: host, proposalID: entry.id, records: records, proposal: nil) {
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
        let time = ISO8601DateFormatter()
        time.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return records.compactMap { record in
            guard record.kind == "state", finished.contains(record.outcome),
                  let detail = try? JSONDecoder().decode([String: String].self, from: Data(record.detail.utf8)),
                  let exit = detail["exit"].flatMap(Int.init), LedgerEntry.exitCodesAfterEntry.contains(exit) else { return nil }
            return (record.proposalID, record.host, exit, time.date(from: record.at) ?? Date())
        }
    }

    /// Why a signed approval does not hold.
    enum Problem: Error, CustomStringConvertible {
        case invalid(String)
        case missingRow(Int64, String)

        var description: String {
            switch self {
            case .invalid(let text): text
            case .missingRow(_, let text): text
            }
        }
    }

    /// A signed approval holds when its statement is canonical and names `proposalID` and `host` (and, when
    /// given, the proposal's stored action, parameters and catalogue), its digest recomputes from what it names,
    /// its signature is by a key the inventory lists for its principal there, and its audit head is in `records`.
    func check(_ signed: SignedApproval, host name: String, proposalID: String, records: [AuditChain.Record],
               proposal: ProposalRecord?) -> Result<Void, Problem> {
        let statement: ApprovalStatement
        let signature: SSHSignature
        do {
            statement = try ApprovalStatement.parse(signed.statement)
            signature = try SSHSignature.parse(armored: signed.signature)
        } catch {
            return .failure(.invalid("unreadable statement or signature: \(error)"))
        }
        guard statement.proposalID == proposalID, statement.host == name else {
            return .failure(.invalid("the statement is for proposal \(statement.proposalID) on \(statement.host)"))
        }
        guard statement.digest == ApprovalDigest.compute(action: statement.action, host: statement.host, parameters: statement.parameters,
                                                         catalogueVersion: statement.catalogueVersion) else {
            return .failure(.invalid("the statement's digest does not recompute from the action, host, parameters and catalogue it names"))
        }
        if let proposal, proposal.action != statement.action || proposal.parameters != statement.parameters
            || proposal.catalogueVersion != statement.catalogueVersion {
            return .failure(.invalid("the store's action, parameters or catalogue for the proposal are not what was signed (the row was rewritten)"))
        }
        guard let host = configuration.inventory.host(named: name) else {
            return .failure(.invalid("host \(name) is not in the inventory: its approvers' keys are unknown"))
        }
        guard host.approvers.contains(where: { $0.principal == statement.principal && $0.key.blob == signature.publicKey.blob }) else {
            return .failure(.invalid("signed by \(signature.publicKey.fingerprint), which mcp_approvers does not list for \(statement.principal) on \(name)"))
        }
        do {
            try signature.verify(message: Array(signed.statement.utf8), namespace: ApprovalStatement.namespace)
        } catch {
            return .failure(.invalid("the signature does not verify: \(error)"))
        }
        let head = statement.auditHead
        guard head.sequence > 0 else { return .success(()) }
        let hash = head.hash.hasPrefix("sha256:") ? String(head.hash.dropFirst(7)) : head.hash
        if let broken = AuditChain.check(AuditChain.Anchor(seq: head.sequence, hash: hash), in: records) {
            return .failure(broken.problem.contains("missing") ? .missingRow(head.sequence, broken.problem) : .invalid(broken.problem))
        }
        return .success(())
    }
}

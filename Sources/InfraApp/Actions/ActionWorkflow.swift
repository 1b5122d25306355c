import Foundation
import InfraDomain

/// The AI's side of approved actions, for every adapter (stdio MCP today, HTTP next): propose, read, cancel,
/// and execute exactly once when the signed approvals verify, then verify the result. The rules live in the
/// domain (ActionRequest, ProposalRules, ApprovalVerification); this type orders them and does the I/O through
/// the ports: the action store, and hosts through ``AuditedExec``.
public struct ActionWorkflow: Sendable {
    let proposals: ProposalRegistry
    let exec: AuditedExec
    let catalogue: ActionCatalogue
    let inventory: Inventory
    /// SHA-256 of each target-side component of this release (the catalogue among them).
    let releaseComponents: [String: String]
    let approvalContext: ApprovalContext
    /// The OS account the server runs as: the executor of every run, and the proposer for stdio clients.
    let user: String
    /// The runner account's user on the hosts (for the view).
    let runner: String
    /// This process, as an execution's owner.
    let owner: @Sendable () -> ExecutionOwner
    /// How long a claim or a renewal holds a run (LINUX_MCP_EXECUTION_LEASE_SECONDS), on the `now` clock.
    public let executionLease: Duration
    /// How often a running execution renews its lease (a third of the lease unless a test sets it).
    let renewalInterval: Duration
    /// Makes proposal ids.
    let makeID: @Sendable () -> String

    /// Creates the workflow over the ports.
    public init(store: any ActionStore, exec: AuditedExec, catalogue: ActionCatalogue, inventory: Inventory,
                releaseComponents: [String: String], approvalContext: ApprovalContext, policy: ApprovalPolicy, user: String, runner: String,
                owner: @escaping @Sendable () -> ExecutionOwner = { ExecutionOwnerProbe.current },
                executionLease: Duration = .seconds(60), renewalInterval: Duration? = nil,
                now: @escaping @Sendable () -> Date = { Date() },
                makeID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }) {
        self.proposals = ProposalRegistry(store: store, policy: policy, now: now)
        self.exec = exec
        self.catalogue = catalogue
        self.inventory = inventory
        self.releaseComponents = releaseComponents
        self.approvalContext = approvalContext
        self.user = user
        self.runner = runner
        self.owner = owner
        self.executionLease = executionLease
        self.renewalInterval = renewalInterval ?? executionLease / 3
        self.makeID = makeID
    }

    /// The actor name of this server in the audit log and the transitions (executions, start and stop).
    public var actor: String { AuditActor.server(user) }

    /// A caller on this machine (stdio): the OS account the server runs as, using `client`.
    public func localCaller(client: String) -> Caller { Caller(name: user, client: client) }

    /// The action catalogue this server proposes from.
    public var actionCatalogue: ActionCatalogue { catalogue }

    /// What a proposal on `host` must warn about: nobody can approve there (``InventoryHost/noApproversWarning``).
    /// The proposal is still recorded, so that approvers added to the inventory later can approve it before it expires.
    public func proposalWarning(host name: String) -> String? {
        inventory.host(named: name)?.noApproversWarning.map { "WARNING: " + $0 }
    }

    // MARK: Proposing and reading

    /// Records a proposal (PROPOSED) after checking it against the catalogue and the host's allowed services,
    /// and checking that the host runs the same catalogue as this server.
    public func propose(host name: String, action: String, parameters: [String: String], rationale: String,
                        by caller: Caller) async throws -> ProposalRecord {
        guard let host = inventory.host(named: name) else {
            throw Refusal(.unknownHost, "argument 'host': '\(name)' is not an inventory host (a proposal names exactly one host). "
                                        + "Call list_hosts for the inventory.")
        }
        guard FreeText.rationale.accepts(rationale) else {
            throw Refusal(.invalidArgument, "argument 'rationale' \(FreeText.rationale.rule) (what you saw, what this fixes)")
        }
        let request: ActionRequest
        do {
            request = try ActionRequest.make(actionName: action, host: host, parameters: parameters, catalogue: catalogue)
        } catch {
            throw Refusal(.catalogue, error.description)
        }
        try await requireSameCatalogue(on: host)
        let made = ProposalRules.proposal(request, id: makeID(), rationale: rationale, proposer: caller.name, client: caller.client,
                                          catalogueVersion: catalogue.version, policy: proposals.policy, now: proposals.now())
        try proposals.store.insert(made.record, audit: [made.audit])
        return try proposals.proposal(made.record.id)
    }

    /// Refuses a proposal for a host whose installed catalogue is not the server's: the action approved
    /// here would not be the action that runs there.
    func requireSameCatalogue(on host: InventoryHost) async throws {
        let answer = try await exec.run(AuditedExec.versionRequest, on: host, account: .reader)
        let reported = ComponentDrift.reported(in: answer.stdoutText)
        guard let expected = releaseComponents["pra-catalogue.tsv"], let theirs = reported["pra-catalogue.tsv"] else { return }
        guard theirs == expected else {
            throw Refusal(.catalogue, "cannot propose on \(host.name): its action catalogue (sha256 \(theirs.prefix(12))…) differs from the "
                                      + "server's (\(expected.prefix(12))…, LINUX_MCP_CATALOGUE); the operator must redeploy the role "
                                      + "or run the server with the same release. mcp-linux-infra doctor shows the DRIFT.")
        }
    }

    /// Actions waiting for approval or execution, newest first (those due expire first).
    public func pending() throws -> [ProposalReview] {
        try proposals.list(states: [.proposed, .approved]).map(view)
    }

    /// One action by id or unique prefix.
    public func get(_ id: String) throws -> ProposalReview {
        view(try proposals.proposal(id))
    }

    /// The full id `id` names (a unique prefix is enough), or the refusal (or the store's own error).
    public func resolve(_ id: String) throws -> String {
        try proposals.resolve(id)
    }

    /// The proposer withdraws a PROPOSED or APPROVED action (only the caller who proposed it may).
    public func cancel(_ id: String, reason: String, by caller: Caller) throws -> ProposalReview {
        guard FreeText.reason.accepts(reason) else { throw Refusal(.invalidArgument, "argument 'reason' \(FreeText.reason.rule)") }
        let full = try proposals.resolve(id)
        return view(try proposals.apply(full) { record, _, date in
            try ProposalRules.cancellation(of: record, by: caller.name, reason: reason, now: date)
        }.record)
    }

    /// A record as every front-end shows it.
    public func view(_ record: ProposalRecord) -> ProposalReview {
        ProposalReview(record: record, catalogue: catalogue, cataloguePath: "LINUX_MCP_CATALOGUE", inventory: inventory)
    }

    /// Who runs an action on its host.
    public var runnerUser: String { runner }

    // MARK: Executing

    /// What an adapter that is stopping tells a running execution.
    public struct Stopping: Sendable {
        /// True once the adapter's grace period is over: no result can be recorded any more.
        public var isAbandoning: @Sendable () -> Bool

        /// Creates the hook.
        public init(isAbandoning: @escaping @Sendable () -> Bool) {
            self.isAbandoning = isAbandoning
        }

        /// An adapter that never abandons a run.
        public static let never = Stopping { false }
    }

    /// Executes an approved action exactly once, then verifies it through the read-only account.
    ///
    /// 1. The digest is recomputed from what is stored and today's catalogue and inventory.
    /// 2. The claim (APPROVED → EXECUTING, one winner; ``ProposalRules/claim(of:executor:currentDigest:owner:lease:context:required:chain:now:)``)
    ///    verifies every stored signed approval again against the inventory and known_hosts, and needs as many
    ///    distinct keys as the catalogue's impact and the inventory's threshold say. It holds the run for
    ///    ``executionLease``, renewed every ``renewalInterval`` until the host answers (``ExecutionLease``).
    /// 3. The request goes to pra-exec with the signed approvals and the audit head on stdin; pra-run verifies
    ///    the approvals as root and keeps the head in its ledger.
    /// 4. The result, and the reader's probe of the unit when there is one, are recorded. If another server
    ///    meanwhile marked the run INTERRUPTED (this one stalled past its lease), the answer is audited as
    ///    `result-after-interruption` and the call is refused with what happened; the run stays INTERRUPTED.
    public func execute(_ given: String, stopping: Stopping = .never) async throws -> ProposalReview {
        let id = try proposals.resolve(given)
        guard let record = try proposals.store.load(id) else { throw Refusal(.notFound, "no action with id '\(id)'") }
        var digest = "sha256:unavailable"
        var request: ActionRequest?
        if let host = inventory.host(named: record.host),
           let made = try? ActionRequest.make(actionName: record.action, host: host, parameters: record.parameters, catalogue: catalogue) {
            request = made
            digest = made.digest(catalogueVersion: catalogue.version)
        }
        let impact = catalogue.action(named: record.action)?.impact ?? .high
        let policy = proposals.policy
        let required = inventory.host(named: record.host).map { policy.approvalsNeeded(for: impact, on: $0) } ?? policy.approvalsNeeded(for: impact)
        var claim: ProposalRules.Claim?
        let holder = owner()
        let claimed = try proposals.apply(id) { record, chain, date in
            let decided = ProposalRules.claim(of: record, executor: actor, currentDigest: digest, owner: holder, lease: executionLease,
                                              context: approvalContext, required: required, chain: chain, now: date)
            claim = decided
            return decided.change
        }
        guard let claim else { throw Refusal(.wrongState, "cannot execute: the claim was not decided") }
        if let refusal = claim.refusal { throw refusal }
        guard let request, let head = claimed.head else { throw Refusal(.catalogue, "internal: claimed without a request") }
        // The approvals, then the audit head with this claim in it: the host's ledger keeps it, a witness of the
        // log outside the store (`audit verify --hosts` checks the chain still holds it).
        let approvalLines = Array((claim.approvals.map(\.stdinLine).joined() + "audit-head \(head.seq) \(head.hash)\n").utf8)

        let renewal = Task { await renewLease(of: id, by: holder) }
        let outcome: ExecutionOutcome
        do {
            outcome = try await runOnHost(request, record: record, stdin: approvalLines, stopping: stopping)
        } catch {
            renewal.cancel()
            throw error
        }
        renewal.cancel()
        await renewal.value
        var late: Refusal?
        let finished = try proposals.store.update(id) { record, _ in
            let date = proposals.now()
            if let after = ExecutionLease.lateResult(of: record, outcome: outcome, executor: actor, now: date) {
                late = after.refusal
                return after.change
            }
            return try ProposalRules.finish(of: record, outcome: outcome, executor: actor, now: date)
        }
        if let late { throw late }
        return view(finished.record)
    }

    /// Sends the claimed request to the host, then probes the result through the read-only account.
    func runOnHost(_ request: ActionRequest, record: ProposalRecord, stdin: [UInt8], stopping: Stopping) async throws -> ExecutionOutcome {
        let id = record.id
        var outcome = ExecutionOutcome(exitCode: nil, stdout: "", stderr: "", verification: "", verified: "not-checked", succeeded: false)
        do {
            let answer = try await exec.run(request.execRequest(correlation: id), on: request.host, account: .runner, timeout: .seconds(330),
                                            proposalID: id, stdin: stdin)
            outcome.exitCode = answer.exitCode.map(Int.init)
            outcome.stdout = answer.stdoutText
            outcome.stderr = answer.stderrText
        } catch {
            if stopping.isAbandoning() {
                // The adapter is stopping and its grace period is over: no result is known, so none is recorded.
                try? await exec.recorder.record(.init(actor: actor, kind: "execution", host: record.host, action: record.action, proposalID: id,
                                                      outcome: "left-executing",
                                                      detail: ["reason": "server stopping after its grace period", "error": "\(error)"]))
                throw Refusal(.stopping, "the server stopped before \(id) finished; it stays EXECUTING until its lease passes (or this "
                                         + "server starts again), then any server marks it INTERRUPTED. Check the host with the read-only tools.")
            }
            outcome.stderr = "not run to completion: \(error)"
        }
        if outcome.exitCode == 0 {
            if let probe = request.readerProbe {
                do {
                    let seen = try await exec.run(probe, on: request.host, account: .reader, proposalID: id)
                    let state = seen.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
                    outcome.verification = "mcp-reader `\(probe)`: \(state.isEmpty ? "exit \(seen.exitCode.map(String.init) ?? "?")" : state)"
                    outcome.verified = state == "active" ? "yes" : "no"
                } catch where stopping.isAbandoning() {
                    outcome.verification = "not checked: the server stopped before mcp-reader `\(probe)` answered"
                } catch {
                    outcome.verification = "mcp-reader `\(probe)` failed: \(error)"
                    outcome.verified = "no"
                }
            } else {
                outcome.verification = request.verification.isEmpty
                    ? "this action has no verification probe"
                    : "no read-only probe for this action; pra-run verified it as root: `\(request.verification.joined(separator: " "))`"
            }
        }
        outcome.succeeded = outcome.exitCode == 0 && outcome.verified != "no"
        return outcome
    }

    /// Renews the lease `holder` has on `id` every ``renewalInterval`` until cancelled (the host answered), or until
    /// the run is no longer EXECUTING or no longer `holder`'s (another server marked it INTERRUPTED). A renewal the
    /// store refuses is tried again at the next interval; the lease runs on meanwhile.
    func renewLease(of id: String, by holder: ExecutionOwner) async {
        while true {
            do { try await Task.sleep(for: renewalInterval) } catch { return }
            var held = true
            do {
                _ = try proposals.store.update(id) { record, _ in
                    let change = ExecutionLease.renewal(of: record, by: holder, lease: executionLease, now: proposals.now())
                    held = change != nil
                    return change
                }
            } catch {
                continue
            }
            if !held { return }
        }
    }

    // MARK: The server's own life

    /// Marks INTERRUPTED every EXECUTING action whose owner is gone: its lease passed, or it ran on this machine
    /// and its process is gone (a run from a release without leases is judged by its process alone). They are
    /// never re-run by themselves. Idempotent when several servers do it at once: each decides again inside the
    /// store's transaction, and only the one that wrote an interruption returns its id.
    @discardableResult
    public func recoverInterrupted() throws -> [String] {
        func abandonment(_ owner: ExecutionOwner) -> ExecutionLease.Abandonment? {
            ExecutionLease.abandonment(of: owner, processGone: !ExecutionOwnerProbe.isAlive(owner), now: proposals.now())
        }
        var interrupted: [String] = []
        var firstFailure: (any Error)?
        for record in try proposals.store.list(states: [.executing]) {
            guard let run = record.execution, abandonment(run.owner) != nil else { continue }
            var wrote = false
            do {
                _ = try proposals.store.update(record.id) { current, _ in
                    guard current.state == .executing, let owner = current.execution?.owner, let why = abandonment(owner) else { return nil }
                    wrote = true
                    return try ProposalRules.interruption(of: current, because: why, now: proposals.now())
                }
            } catch {
                // One run the store will not close must not keep the others EXECUTING: go on, then report it.
                firstFailure = firstFailure ?? error
            }
            if wrote { interrupted.append(record.id) }
        }
        if let firstFailure { throw firstFailure }
        return interrupted
    }

    /// Expires every proposal whose time ran out (idempotent as ``recoverInterrupted()``); returns the ids this call expired.
    @discardableResult
    public func expireDue() throws -> [String] {
        try proposals.expireDue()
    }
}

import Foundation

/// Every decision about a stored proposal, in one file a reviewer reads top to bottom: proposing, expiry,
/// a signed approval (verified against the operator's files and counted by key), a rejection, a cancellation,
/// the exactly-once execution claim (every stored approval verified again), the result, and the recovery of
/// a run whose server died. Each rule takes the proposal as stored and returns the ``ProposalChange`` to
/// write, or a ``Refusal``; the action store writes the change in one transaction and decides nothing.
public enum ProposalRules {
    // MARK: Proposing

    /// A new PROPOSED record for a validated request, with its first transition and audit row.
    public static func proposal(_ request: ActionRequest, id: String, rationale: String, proposer: String, client: String,
                                catalogueVersion: String, policy: ApprovalPolicy, now: Date) -> (record: ProposalRecord, audit: AuditChain.Record) {
        let actor = AuditActor.server(proposer)
        let record = ProposalRecord(
            id: id, action: request.action.name, host: request.host.name, parameters: request.parameters, rationale: rationale,
            impact: request.action.impact.rawValue, catalogueVersion: catalogueVersion, digest: request.digest(catalogueVersion: catalogueVersion),
            command: request.command, verification: request.verification, proposer: proposer, client: client, state: .proposed,
            requiredApprovals: policy.approvalsNeeded(for: request.action.impact, on: request.host), createdAt: now,
            expiresAt: now + seconds(policy.proposalLifetime),
            transitions: [.init(from: nil, to: .proposed, actor: actor, reason: rationale, at: now)])
        return (record, stateRow(record, from: nil, to: .proposed, actor: actor, reason: rationale, now: now))
    }

    // MARK: Expiry

    /// The expiry of a proposal whose time ran out (PROPOSED past its pending time, APPROVED past its
    /// approval), or nil when it is not due. Callers write it first (ProposalRegistry); every other rule
    /// refuses a proposal that is due, whether or not its expiry was written.
    public static func expiry(of record: ProposalRecord, now: Date) -> ProposalChange? {
        let pending = record.state == .proposed && record.expiresAt <= now
        let approved = record.state == .approved && (record.approvalExpiresAt.map { $0 <= now } ?? false)
        guard pending || approved else { return nil }
        return try? change(record, .expire, actor: AuditActor.system,
                           reason: pending ? "not approved in time" : "approved but not executed in time", now: now)
    }

    // MARK: Human decisions

    /// A signed approval. It counts only when ``ApprovalVerification`` accepts it against the operator's files
    /// (`context`), never on the store's word; the principal comes from the verified signature and `osAccount`
    /// is recorded beside it. The proposal becomes APPROVED once enough distinct keys signed, until the
    /// earliest counted statement's not-after.
    public static func approval(of record: ProposalRecord, signed: SignedApproval, osAccount: String, reason: String?,
                                context: ApprovalContext, policy: ApprovalPolicy, chain: ChainView, now: Date) throws(Refusal) -> ProposalChange {
        try requireProposed(record, "approve", now: now)
        let approver: Approver
        do {
            approver = try verify(signed, of: record, context: context, chain: chain, now: now)
        } catch {
            throw Refusal(.signatureInvalid, "cannot approve: \(error)")
        }
        let count: Int
        do {
            guard osAccount != record.proposer else { throw ApprovalRefusal.selfApproval(osAccount) }
            count = try policy.checkApproval(proposer: record.proposer, impact: ActionCatalogue.Impact(rawValue: record.impact) ?? .high,
                                             approver: approver.principal, key: approver.key.fingerprint, reason: reason,
                                             earlier: earlierDecisions(record))
        } catch {
            throw Refusal(.policy, "cannot approve: \(error)")
        }
        guard let statement = try? ApprovalStatement.parse(signed.statement) else {
            throw Refusal(.signatureInvalid, "cannot approve: the statement is not canonical")
        }
        let actor = AuditActor.approver(approver.principal)
        var change = ProposalChange(decision: .init(approver: approver.principal, approves: true, reason: reason ?? "", digest: record.digest,
                                                    at: now, osAccount: osAccount, signed: signed))
        change.audit.append(AuditChain.Record(
            actor: actor, kind: "approval", host: record.host, action: record.action, proposalID: record.id, outcome: "approved",
            detail: ["digest": record.digest, "reason": reason ?? "", "approvals": "\(count) of \(record.requiredApprovals)",
                     "principal": approver.principal, "key": approver.key.fingerprint, "osAccount": osAccount,
                     "notAfter": ApprovalStatement.utc(statement.notAfter),
                     "auditHead": "\(statement.auditHead.sequence):\(statement.auditHead.hash)"],
            at: AuditChain.timestamp(now)))
        if count >= record.requiredApprovals {
            let earlier = record.decisions.filter(\.approves).compactMap { $0.signed.flatMap { try? ApprovalStatement.parse($0.statement).notAfter } }
            change.approval = (now, (earlier + [statement.notAfter]).min()!)
            let approved = try Self.change(record, .approve, actor: actor, reason: "\(count) of \(record.requiredApprovals) signed approvals", now: now)
            change.transition = approved.transition
            change.audit += approved.audit
        }
        return change
    }

    /// A rejection by the OS account at the CLI (a reason is required); the proposal becomes REJECTED.
    public static func rejection(of record: ProposalRecord, by account: String, reason: String?, policy: ApprovalPolicy,
                                 now: Date) throws(Refusal) -> ProposalChange {
        try requireProposed(record, "reject", now: now)
        do {
            try policy.checkRejection(proposer: record.proposer, approver: account, reason: reason, earlier: earlierDecisions(record))
        } catch {
            throw Refusal(.policy, "cannot reject: \(error)")
        }
        var change = try Self.change(record, .reject, actor: AuditActor.account(account), reason: reason ?? "", now: now)
        change.decision = .init(approver: account, approves: false, reason: reason ?? "", digest: record.digest, at: now, osAccount: account)
        return change
    }

    /// The proposer withdraws a PROPOSED or APPROVED action.
    public static func cancellation(of record: ProposalRecord, by user: String, reason: String, now: Date) throws(Refusal) -> ProposalChange {
        guard record.proposer == user else { throw Refusal(.notProposer, "only the proposer (\(record.proposer)) can cancel this action") }
        try requireNotDue(record, "cancel", now: now)
        return try change(record, .cancel, actor: AuditActor.server(user), reason: reason, now: now)
    }

    // MARK: Execution (exactly once)

    /// What a claim decided: the change to write (the claim, or only the refusal's audit row) and, when
    /// claimed, the signed approvals that go to the host, whose root side verifies them once more.
    public struct Claim {
        public var change: ProposalChange
        public var approvals: [SignedApproval]
        /// Set when the claim is refused; the change then holds only the refusal's audit row, which is kept.
        public var refusal: Refusal?
    }

    /// The claim APPROVED → EXECUTING. Refused when the action is not approved, or its approval ran out, or `currentDigest`
    /// (recomputed from the request and today's catalogue) is not the one the approvers approved, or any
    /// stored approval carries no signature or no longer verifies against the operator's files, or fewer
    /// than `required` distinct keys verify (one key is one approver, whatever names it signs under). The
    /// execution claimed is held by `owner` for `lease` from `now` (``ExecutionLease``); the owner renews it.
    public static func claim(of record: ProposalRecord, executor: String, currentDigest: String, owner: ExecutionOwner, lease: Duration,
                             context: ApprovalContext, required: Int, chain: ChainView, now: Date) -> Claim {
        func refuse(_ code: Refusal.Code, _ reason: String) -> Claim {
            let row = AuditChain.Record(actor: executor, kind: "state", host: record.host, action: record.action, proposalID: record.id,
                                        outcome: "refused", detail: ["reason": reason, "state": record.state.rawValue],
                                        at: AuditChain.timestamp(now))
            return Claim(change: ProposalChange(audit: [row]), approvals: [], refusal: Refusal(code, "cannot execute: " + reason))
        }
        do {
            _ = try ActionLifecycle.next(record.state, on: .start)
        } catch {
            return refuse(.wrongState, error.description)
        }
        if let due = due(record, now: now) { return refuse(.wrongState, due) }
        let approves = record.decisions.filter(\.approves)
        guard currentDigest == record.digest, Set(approves.map(\.digest)) == [record.digest] else {
            return refuse(.digestMismatch, "the action's digest changed since it was approved (approved \(record.digest), now \(currentDigest)); propose it again")
        }
        var counted: [Approver] = []
        var approvals: [SignedApproval] = []
        for decision in approves {
            guard let signed = decision.signed else {
                return refuse(.signatureInvalid, "the approval recorded for \(decision.approver) carries no signature: the database was written "
                                                 + "by something other than `actions approve`; nothing runs")
            }
            do {
                let approver = try verify(signed, of: record, context: context, chain: chain, now: now)
                guard approver.principal == decision.approver else {
                    return refuse(.signatureInvalid, "the approval recorded for \(decision.approver) is signed by \(approver.principal)")
                }
                if !counted.contains(where: { $0.key.blob == approver.key.blob }) { approvals.append(signed) }
                counted.append(approver)
            } catch {
                return refuse(.signatureInvalid, "the approval recorded for \(decision.approver) does not count: \(error)")
            }
        }
        let keys = ApprovalVerification.distinctKeys(counted)
        guard keys >= required else {
            let shared = Dictionary(grouping: counted, by: \.key.fingerprint).filter { $0.value.count > 1 }
                .map { "\($0.value.map(\.principal).joined(separator: " and ")) signed with the same key \($0.key)" }
            return refuse(.tooFewApprovers, "\(keys) distinct approver keys verified; \(required) are needed (one key is one approver"
                                            + (shared.isEmpty ? ")" : ": " + shared.joined(separator: "; ") + ")"))
        }
        do {
            var change = try Self.change(record, .start, actor: executor,
                                         reason: "execution claimed by pid \(owner.pid) on \(owner.host)", now: now)
            var holder = owner
            holder.leaseUntil = ExecutionLease.deadline(from: now, lease: lease)
            change.execution = .init(executor: executor, owner: holder, startedAt: now)
            return Claim(change: change, approvals: approvals, refusal: nil)
        } catch {
            return refuse(error.code, error.message)
        }
    }

    /// The result of a claimed run: EXECUTING → COMPLETED or FAILED, with what the run printed (capped).
    public static func finish(of record: ProposalRecord, outcome: ExecutionOutcome, executor: String, now: Date) throws(Refusal) -> ProposalChange {
        guard var execution = record.execution else { throw Refusal(.wrongState, "cannot finish \(record.id): it was never claimed") }
        let stdout = String(outcome.stdout.prefix(65536)), stderr = String(outcome.stderr.prefix(65536))
        // The chain's row seals the result as stored (ExecutionResultCheck): a rewritten execution row no longer matches it.
        var change = try Self.change(record, outcome.succeeded ? .complete : .fail, actor: executor,
                                     reason: "exit \(outcome.exitCode.map(String.init) ?? "none"), verified \(outcome.verified)", now: now,
                                     detail: ExecutionResultCheck.sealed(exit: outcome.exitCode, verified: outcome.verified, storedStdout: stdout,
                                                                         storedStderr: stderr, stdoutBytes: outcome.stdout.utf8.count,
                                                                         stderrBytes: outcome.stderr.utf8.count))
        execution.finishedAt = now
        execution.exitCode = outcome.exitCode
        execution.stdout = stdout
        execution.stderr = stderr
        execution.verification = outcome.verification
        execution.verified = outcome.verified
        change.execution = execution
        return change
    }

    /// An EXECUTING action whose server stopped before recording a result becomes INTERRUPTED; it is never
    /// re-run by itself. Whether its owner is gone is decided first (``ExecutionLease/abandonment(of:processGone:now:)``);
    /// the reason says how it was found: its lease passed, or its process is gone.
    public static func interruption(of record: ProposalRecord, because abandonment: ExecutionLease.Abandonment,
                                    now: Date) throws(Refusal) -> ProposalChange {
        guard var execution = record.execution else { throw Refusal(.wrongState, "cannot interrupt \(record.id): it was never claimed") }
        let server = "the server running it (pid \(execution.owner.pid) on \(execution.owner.host))"
        let found: String
        var detail: [String: String] = [:]
        switch abandonment {
        case .leasePassed(let until):
            found = "\(server) did not renew its lease, which passed at \(UTCTime.text(until))"
            detail["leaseUntil"] = UTCTime.text(until)
        case .processGone:
            found = "\(server) is gone (process gone)"
        }
        var change = try change(record, .interrupt, actor: AuditActor.system,
                                reason: found + ", before recording a result; check the host, then propose again if needed", now: now,
                                detail: detail)
        execution.finishedAt = now
        execution.verified = "not-checked"
        change.execution = execution
        return change
    }

    // MARK: Shared

    /// The approver whose signed approval of `record` counts now, or why it does not: the statement must
    /// name what is stored, whose digest must recompute, and the proposer never approves their own action.
    public static func verify(_ signed: SignedApproval, of record: ProposalRecord, context: ApprovalContext, chain: ChainView,
                              now: Date) throws(ApprovalVerification.Refusal) -> Approver {
        let expected = try expectation(record, context: context)
        let approver = try ApprovalVerification.verify(statement: signed.statement, signature: signed.signature, expected: expected,
                                                       now: now, skew: context.skew, auditHashAt: chain.hashAt)
        guard approver.principal != record.proposer else {
            throw ApprovalVerification.Refusal(description: "\(approver.principal) proposed this action and cannot approve it")
        }
        return approver
    }

    /// What a statement for `record` must name, from its stored request and the operator's files; refuses a
    /// record whose stored digest is not the one its action, host, parameters and catalogue recompute to.
    public static func expectation(_ record: ProposalRecord, context: ApprovalContext) throws(ApprovalVerification.Refusal)
        -> ApprovalVerification.Expected {
        let expected = try context.expected(proposalID: record.id, host: record.host, action: record.action, parameters: record.parameters,
                                            catalogueVersion: record.catalogueVersion)
        do {
            _ = try ApprovalDigest.recompute(stored: record.digest, action: expected.action, host: expected.host.name,
                                             parameters: expected.parameters, catalogueVersion: expected.catalogueVersion)
        } catch {
            throw ApprovalVerification.Refusal(description: error.description)
        }
        return expected
    }

    /// The decisions already recorded, as the policy counts them (by the key that signed).
    static func earlierDecisions(_ record: ProposalRecord) -> [ApprovalPolicy.Decision] {
        record.decisions.map {
            ApprovalPolicy.Decision(approver: $0.approver, approves: $0.approves,
                                    key: $0.signed.flatMap { try? SSHSignature.parse(armored: $0.signature).publicKey.fingerprint })
        }
    }

    static func requireProposed(_ record: ProposalRecord, _ verb: String, now: Date) throws(Refusal) {
        guard record.state == .proposed else { throw Refusal(.wrongState, "cannot \(verb): the action is \(record.state.rawValue)") }
        try requireNotDue(record, verb, now: now)
    }

    /// Refuses any decision about a proposal whose time ran out: it expires, nothing else.
    static func requireNotDue(_ record: ProposalRecord, _ verb: String, now: Date) throws(Refusal) {
        if let due = due(record, now: now) { throw Refusal(.wrongState, "cannot \(verb): \(due)") }
    }

    /// Why `record`'s time ran out, or nil when its expiry is not due.
    static func due(_ record: ProposalRecord, now: Date) -> String? {
        guard expiry(of: record, now: now) != nil else { return nil }
        let until = record.state == .proposed ? record.expiresAt : record.approvalExpiresAt ?? now
        return "the action's time ran out (\(record.state.rawValue) until \(ApprovalStatement.utc(until))); it expires"
    }

    /// A lifecycle event as a change: the transition and its audit row.
    static func change(_ record: ProposalRecord, _ event: ActionLifecycle.Event, actor: String, reason: String, now: Date,
                       detail: [String: String] = [:]) throws(Refusal) -> ProposalChange {
        let next: ActionLifecycle.State
        do {
            next = try ActionLifecycle.next(record.state, on: event)
        } catch {
            throw Refusal(.wrongState, "cannot \(event.rawValue): \(error.description)")
        }
        return ProposalChange(transition: .init(from: record.state, to: next, actor: actor, reason: reason, at: now),
                              audit: [stateRow(record, from: record.state, to: next, actor: actor, reason: reason, now: now, detail: detail)])
    }

    /// The audit row of a state change.
    static func stateRow(_ record: ProposalRecord, from: ActionLifecycle.State?, to: ActionLifecycle.State, actor: String, reason: String,
                         now: Date, detail: [String: String] = [:]) -> AuditChain.Record {
        var fields = detail
        fields["from"] = from?.rawValue ?? "-"
        fields["reason"] = reason
        return AuditChain.Record(actor: actor, kind: "state", host: record.host, action: record.action, proposalID: record.id,
                                 outcome: to.rawValue, detail: fields, at: AuditChain.timestamp(now))
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

import Foundation
import InfraDomain

/// The human side of approved actions, for every adapter (the CLI today, the review console next): read a
/// proposal, print the statement an approver signs, record a signed approval, record a rejection. An
/// approval counts only by its signature, checked against the operator's files, never against the database.
public struct ActionReview: Sendable {
    let proposals: ProposalRegistry
    let audit: any AuditSink
    let catalogue: ActionCatalogue
    /// Where the catalogue was read from (LINUX_MCP_CATALOGUE), for messages.
    let cataloguePath: String
    let inventory: Inventory
    let approvalContext: ApprovalContext
    /// Where the host keys are pinned (LINUX_MCP_KNOWN_HOSTS), for messages.
    let knownHostsPath: String
    let signer: ApprovalSigner
    /// Where approvals accepted and refused (by refusal code) are counted.
    let metrics: InfraMetrics

    /// The review use cases over the operator's files and the ports.
    public init(store: any ActionStore, audit: any AuditSink, catalogue: ActionCatalogue, cataloguePath: String, inventory: Inventory,
                approvalContext: ApprovalContext, policy: ApprovalPolicy, knownHostsPath: String, signer: ApprovalSigner = ApprovalSigner(),
                now: @escaping @Sendable () -> Date = { Date() }, metrics: InfraMetrics = .process) {
        self.proposals = ProposalRegistry(store: store, policy: policy, now: now)
        self.audit = audit
        self.catalogue = catalogue
        self.cataloguePath = cataloguePath
        self.inventory = inventory
        self.approvalContext = approvalContext
        self.knownHostsPath = knownHostsPath
        self.signer = signer
        self.metrics = metrics
    }

    /// Where the approver's signature comes from.
    public enum SignatureSource: Sendable {
        /// A key in the approver's ssh-agent (the first one listed for the host, or `principal`'s).
        case agent
        /// A key file: a private key, or a public key whose private half is in the agent.
        case keyFile(String)
        /// A statement signed elsewhere (`ssh-keygen -Y sign`): its text and armored signature.
        case signed(SignedApproval)
    }

    /// One proposal as the reviewer sees it: rendered from the catalogue, with the digest recomputed.
    public func review(_ id: String) throws -> ProposalReview {
        ProposalReview(record: try proposals.proposal(id), catalogue: catalogue, cataloguePath: cataloguePath, inventory: inventory)
    }

    /// Proposals in `states` (every state when empty), newest first, as reviewed. Read-only: a reviewer whose
    /// account may only read the store can list (a proposal past its time shows EXPIRED once anything writes).
    public func list(states: [ActionLifecycle.State] = []) throws -> [ProposalReview] {
        try proposals.store.list(states: states).map {
            ProposalReview(record: $0, catalogue: catalogue, cataloguePath: cataloguePath, inventory: inventory)
        }
    }

    /// The statement `principal` signs to approve `id` now, in canonical text.
    public func statement(_ id: String, principal: String) throws -> String {
        let review = try approvable(id)
        let host = try approversHost(review.record)
        guard host.approvers.contains(where: { $0.principal == principal }) else {
            throw Refusal(.signatureInvalid, "\(principal) is not an approver of \(host.name) (mcp_approvers lists: "
                                     + "\(host.approvers.map(\.principal).joined(separator: ", ")))")
        }
        return try statementText(review, principal: principal, host: host)
    }

    /// Signs (unless already signed) and records an approval by the person at this terminal.
    ///
    /// What is signed is what was reviewed: the proposal must still render from the catalogue, and its digest,
    /// recomputed, must be `digest`, the one the approver read in the review (required; a statement signed
    /// elsewhere must name it too). `signing`
    /// receives the exact statement before it is signed, for the adapter to show. Counted in the metrics:
    /// accepted, or refused with the refusal's code.
    public func approve(_ id: String, source: SignatureSource, digest typed: String?, principal: String?, reason: String?,
                        osAccount: String, signing: (String) -> Void = { _ in }) throws -> ProposalRecord {
        do {
            let record = try signAndRecord(id, source: source, digest: typed, principal: principal, reason: reason, osAccount: osAccount,
                                           signing: signing)
            metrics.approvalAccepted()
            return record
        } catch {
            metrics.approvalRefused(error)
            throw error
        }
    }

    /// ``approve(_:source:digest:principal:reason:osAccount:signing:)`` without the counting.
    func signAndRecord(_ id: String, source: SignatureSource, digest typed: String?, principal: String?, reason: String?,
                       osAccount: String, signing: (String) -> Void) throws -> ProposalRecord {
        let review = try approvable(id)
        let record = review.record
        if let typed, typed != review.digest {
            throw Refusal(.digestMismatch, "cannot approve: the digest you gave (\(TerminalText.escaped(typed))) is not the action's digest, "
                                     + "recomputed from its action, host, parameters and catalogue (\(review.digest)); run `actions show` again")
        }
        let signed: SignedApproval
        switch source {
        case .signed(let given):
            // Signed elsewhere: the statement must carry the digest the approver read in the review.
            guard let typed else {
                throw Refusal(.invalidArgument, "cannot approve: give --digest with the digest `actions show` printed, so that what you signed is what you reviewed")
            }
            let named = (try? ApprovalStatement.parse(given.statement))?.digest
            guard named == typed else {
                throw Refusal(.digestMismatch, "cannot approve: the signed statement names digest \(named ?? "none"), not the one you reviewed (\(typed)); "
                                         + "nothing was recorded. Run `actions show` and `actions statement` again")
            }
            signed = given
        case .keyFile, .agent:
            guard typed != nil else {
                throw Refusal(.invalidArgument, "cannot approve: give --digest with the digest `actions show` printed, so that what you sign is what you reviewed")
            }
            let keys: [SSHPublicKey]
            let origin: String
            if case .keyFile(let path) = source {
                do { keys = [try ApprovalSigner.publicKey(ofKeyFile: path)] } catch { throw Refusal(.signing, error.description) }
                origin = "--key \(path)"
            } else {
                keys = signer.agentKeys()
                origin = "your ssh-agent"
                guard !keys.isEmpty else {
                    throw Refusal(.signing, "no key in an ssh-agent (SSH_AUTH_SOCK): load your approver key with ssh-add, "
                                             + "or pass --key FILE, or sign elsewhere and pass --signature FILE.sig")
                }
            }
            let approver = try approver(for: keys, principal: principal, record: record, source: origin)
            let statement = try statementText(review, principal: approver.principal, host: try approversHost(record))
            signing(statement)
            do {
                if case .keyFile(let path) = source {
                    signed = SignedApproval(statement: statement, signature: try signer.sign(statement, keyFile: path))
                } else {
                    signed = SignedApproval(statement: statement, signature: try signer.sign(statement, agentKey: approver.key))
                }
            } catch {
                throw Refusal(.signing, error.description)
            }
        }
        return try proposals.apply(record.id) { current, chain, date in
            try ProposalRules.approval(of: current, signed: signed, osAccount: osAccount, reason: reason, context: approvalContext,
                                       policy: proposals.policy, chain: chain, now: date)
        }.record
    }

    /// Records a rejection by the OS account at this terminal (a veto needs no key: it can only stop an action).
    public func reject(_ id: String, osAccount: String, reason: String?) throws -> ProposalRecord {
        let full = try proposals.resolve(id)
        return try proposals.apply(full) { current, _, date in
            try ProposalRules.rejection(of: current, by: osAccount, reason: reason, policy: proposals.policy, now: date)
        }.record
    }

    /// Records a rejection by an approver signed in with their key (the review console): only an approver of the
    /// action's host may, and not one who approved it already; recorded for the account `console:PRINCIPAL`.
    public func reject(_ id: String, approver principal: String, reason: String?) throws -> ProposalRecord {
        let full = try proposals.resolve(id)
        return try proposals.apply(full) { current, _, date in
            let host = try approversHost(current)
            guard host.approvers.contains(where: { $0.principal == principal }) else {
                throw Refusal(.policy, "cannot reject: \(principal) is not an approver of \(host.name) (mcp_approvers lists: "
                                       + "\(host.approvers.map(\.principal).joined(separator: ", ")))")
            }
            guard !current.decisions.contains(where: { $0.approver == principal && $0.approves }) else {
                throw Refusal(.policy, "cannot reject: \(principal) approved this action already")
            }
            return try ProposalRules.rejection(of: current, by: AuditActor.console(principal), reason: reason, policy: proposals.policy, now: date)
        }.record
    }

    // MARK: - Internals

    func approversHost(_ record: ProposalRecord) throws -> InventoryHost {
        guard let host = inventory.host(named: record.host) else {
            throw Refusal(.unknownHost, "host \(record.host) is not in the inventory (LINUX_MCP_INVENTORY): nobody can approve for it")
        }
        guard !host.approvers.isEmpty else {
            throw Refusal(.unknownHost, "\(host.name) has no approvers: add mcp_approvers to the inventory and redeploy the role")
        }
        return host
    }

    /// The review of `id`, when it may be signed.
    func approvable(_ id: String) throws -> ProposalReview {
        let review = try review(id)
        if let problem = review.problem { throw Refusal(.digestMismatch, "cannot approve: \(problem)") }
        return review
    }

    /// The statement for the reviewed proposal; refused when the row changed since the review (its digest,
    /// recomputed from what the statement names, is no longer the reviewed one).
    func statementText(_ review: ProposalReview, principal: String, host: InventoryHost) throws -> String {
        guard let key = approvalContext.pinnedHostKeys[host.name]?.first else {
            throw Refusal(.unknownHost, "no host key is pinned for \(host.name) in \(knownHostsPath)")
        }
        let statement = try statement(for: review.record.id, principal: principal, hostKeyFingerprint: key)
        guard statement.digest == review.digest else {
            throw Refusal(.digestMismatch, "cannot approve: the proposal changed while you reviewed it (its digest is now \(statement.digest), "
                                     + "you reviewed \(review.digest)); nothing was signed. Run `actions show` again")
        }
        do { return try statement.text() } catch { throw Refusal(.signing, error.description) }
    }

    /// The statement `principal` would sign to approve a PROPOSED action now: bound to the host's pinned key,
    /// the proposal's catalogue, the digest recomputed from the stored request (a row whose stored digest does
    /// not recompute is refused, never signed), a window no longer than the host allows, and the audit head.
    func statement(for id: String, principal: String, hostKeyFingerprint: String) throws -> ApprovalStatement {
        let record = try proposals.proposal(id)
        guard record.state == .proposed else { throw Refusal(.wrongState, "cannot approve: the action is \(record.state.rawValue)") }
        let expected: ApprovalVerification.Expected
        do {
            expected = try ProposalRules.expectation(record, context: approvalContext)
        } catch {
            throw Refusal(.digestMismatch, "cannot approve: \(error)")
        }
        let head = try audit.head()
        let date = proposals.now()
        return ApprovalStatement(proposalID: record.id, host: expected.host.name, hostKeyFingerprint: hostKeyFingerprint, action: expected.action,
                                 parameters: expected.parameters, catalogueVersion: expected.catalogueVersion,
                                 digest: expected.digest, principal: principal, notBefore: date,
                                 notAfter: date + approvalContext.window(for: expected.host),
                                 auditHead: .init(sequence: head?.seq ?? 0, hash: head?.hash ?? AuditChain.genesis))
    }

    func approver(for keys: [SSHPublicKey], principal: String?, record: ProposalRecord, source: String) throws -> Approver {
        let host = try approversHost(record)
        let matching = host.approvers.filter { approver in
            keys.contains { $0.blob == approver.key.blob } && (principal == nil || approver.principal == principal)
        }
        guard let first = matching.first else {
            throw Refusal(.signing, "no key in \(source) belongs to \(principal ?? "an approver") of \(host.name) "
                                     + "(mcp_approvers: \(host.approvers.map { "\($0.principal) \($0.key.fingerprint)" }.joined(separator: ", ")))")
        }
        guard principal != nil || Set(matching.map(\.principal)).count == 1 else {
            throw Refusal(.signing, "keys in \(source) belong to several approvers (\(matching.map(\.principal).joined(separator: ", "))); "
                                     + "choose one with --principal")
        }
        return first
    }
}

import Foundation
import InfraConfig
import InfraDomain
import InfraStore

/// The human side of approved actions, for every adapter (the CLI today, the review console next): read a
/// proposal, print the statement an approver signs, record a signed approval, record a rejection. An
/// approval counts only by its signature, checked against the operator's files, never against the database.
public struct ActionReview: Sendable {
    public let configuration: ReviewConfiguration
    public let store: ProposalStore

    /// The review use cases over a configuration and its state database.
    public init(configuration: ReviewConfiguration, database: StateDatabase) {
        self.configuration = configuration
        self.store = ProposalStore(database: database, policy: configuration.settings.approvalPolicy)
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

    /// The statement `principal` signs to approve `id` now, in canonical text.
    public func statement(_ id: String, principal: String) throws -> String {
        let record = try store.proposal(id)
        let host = try approversHost(record)
        guard host.approvers.contains(where: { $0.principal == principal }) else {
            throw StoreError.refused("\(principal) is not an approver of \(host.name) (mcp_approvers lists: "
                                     + "\(host.approvers.map(\.principal).joined(separator: ", ")))")
        }
        return try text(try store.statement(for: record.id, principal: principal, hostKeyFingerprint: try pinnedKey(host)))
    }

    /// Signs (unless already signed) and records an approval by the person at this terminal.
    public func approve(_ id: String, source: SignatureSource, principal: String?, reason: String?, osAccount: String,
                        signer: ApprovalSigner = ApprovalSigner()) throws -> ProposalRecord {
        let record = try store.proposal(id)
        let signed: SignedApproval
        switch source {
        case .signed(let given):
            signed = given
        case .keyFile(let path):
            let key: SSHPublicKey
            do { key = try ApprovalSigner.publicKey(ofKeyFile: path) } catch { throw StoreError.refused(error.description) }
            let approver = try approver(for: [key], principal: principal, record: record, source: "--key \(path)")
            let statement = try text(try store.statement(for: record.id, principal: approver.principal,
                                                         hostKeyFingerprint: try pinnedKey(try approversHost(record))))
            do { signed = SignedApproval(statement: statement, signature: try signer.sign(statement, keyFile: path)) } catch {
                throw StoreError.refused(error.description)
            }
        case .agent:
            let keys = signer.agentKeys()
            guard !keys.isEmpty else {
                throw StoreError.refused("no key in an ssh-agent (SSH_AUTH_SOCK): load your approver key with ssh-add, "
                                         + "or pass --key FILE, or sign elsewhere and pass --signature FILE.sig")
            }
            let approver = try approver(for: keys, principal: principal, record: record, source: "your ssh-agent")
            let statement = try text(try store.statement(for: record.id, principal: approver.principal,
                                                         hostKeyFingerprint: try pinnedKey(try approversHost(record))))
            do { signed = SignedApproval(statement: statement, signature: try signer.sign(statement, agentKey: approver.key)) } catch {
                throw StoreError.refused(error.description)
            }
        }
        return try store.approve(record.id, signed: signed, osAccount: osAccount, reason: reason, context: configuration.approvalContext)
    }

    /// Records a rejection by the OS account at this terminal (a veto needs no key: it can only stop an action).
    public func reject(_ id: String, osAccount: String, reason: String?) throws -> ProposalRecord {
        try store.reject(id, approver: osAccount, reason: reason)
    }

    // MARK: - Internals

    func approversHost(_ record: ProposalRecord) throws -> InventoryHost {
        guard let host = configuration.inventory.host(named: record.host) else {
            throw StoreError.refused("host \(record.host) is not in the inventory (LINUX_MCP_INVENTORY): nobody can approve for it")
        }
        guard !host.approvers.isEmpty else {
            throw StoreError.refused("\(host.name) has no approvers: add mcp_approvers to the inventory and redeploy the role")
        }
        return host
    }

    func pinnedKey(_ host: InventoryHost) throws -> String {
        guard let key = configuration.approvalContext.pinnedHostKeys[host.name]?.first else {
            throw StoreError.refused("no host key is pinned for \(host.name) in \(configuration.settings.knownHostsPath)")
        }
        return key
    }

    func approver(for keys: [SSHPublicKey], principal: String?, record: ProposalRecord, source: String) throws -> Approver {
        let host = try approversHost(record)
        let matching = host.approvers.filter { approver in
            keys.contains { $0.blob == approver.key.blob } && (principal == nil || approver.principal == principal)
        }
        guard let first = matching.first else {
            throw StoreError.refused("no key in \(source) belongs to \(principal ?? "an approver") of \(host.name) "
                                     + "(mcp_approvers: \(host.approvers.map { "\($0.principal) \($0.key.fingerprint)" }.joined(separator: ", ")))")
        }
        guard principal != nil || Set(matching.map(\.principal)).count == 1 else {
            throw StoreError.refused("keys in \(source) belong to several approvers (\(matching.map(\.principal).joined(separator: ", "))); "
                                     + "choose one with --principal")
        }
        return first
    }

    func text(_ statement: ApprovalStatement) throws -> String {
        do { return try statement.text() } catch { throw StoreError.refused(error.description) }
    }
}

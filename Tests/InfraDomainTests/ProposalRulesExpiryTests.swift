import Foundation
import InfraDomain
import InfraTestSupport
import Testing

/// ProposalRules on their own (no registry, no store): a proposal whose time ran out is never approved,
/// rejected, cancelled or run by a rule, whoever calls it and whether or not its expiry was written first.
@Suite("Proposal rules: expiry comes first in every rule",
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen"), "needs ssh-keygen (openssh-client)"))
struct ProposalRulesExpiryTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)
    static let hostKey = "SHA256:" + String(repeating: "A", count: 43)
    static let head = String(repeating: "e", count: 64)
    static let policy = ApprovalPolicy(requiredApprovals: [.low: 1, .medium: 1, .high: 2], proposalLifetime: .seconds(3600),
                                       approvalLifetime: .seconds(900))

    /// A LOW proposal by the server's account `mcp`, proposed two hours ago: past its pending time, still PROPOSED as stored.
    static func record(host: InventoryHost, state: ActionLifecycle.State = .proposed) -> ProposalRecord {
        let catalogue = "sha256:" + String(repeating: "c", count: 64), parameters = ["unit": "nginx.service"]
        return ProposalRecord(id: "3f2a9c1e-0000-4000-8000-00000000e001", action: "restart_service", host: host.name, parameters: parameters,
                              rationale: "nginx is failed; a restart clears it", impact: "LOW", catalogueVersion: catalogue,
                              digest: ApprovalDigest.compute(action: "restart_service", host: host.name, parameters: parameters, catalogueVersion: catalogue),
                              command: [], verification: [], proposer: "mcp", client: "test", state: state, requiredApprovals: 1,
                              createdAt: now - 7200, expiresAt: now - 3600)
    }

    @Test("A PROPOSED proposal past its pending time: approval, rejection and cancellation are refused; its expiry is the change")
    func expiredProposal() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let keyFile = try await TestApprovals.makeKey(in: folder, name: "alice")
        let key = try SSHPublicKey.parseLine(try String(contentsOfFile: keyFile + ".pub", encoding: .utf8))
        let host = InventoryHost(name: "web1", address: "192.0.2.1", approvers: [Approver(principal: "alice@example.org", key: key)])
        let context = ApprovalContext(hosts: [host], pinnedHostKeys: ["web1": [Self.hostKey]], preferredWindow: 900)
        let record = Self.record(host: host)
        #expect(ProposalRules.expiry(of: record, now: Self.now)?.transition?.to == .expired)

        // A statement alice signs now, fresh in every other respect.
        let statement = ApprovalStatement(proposalID: record.id, host: host.name, hostKeyFingerprint: Self.hostKey, action: record.action,
                                          parameters: record.parameters, catalogueVersion: record.catalogueVersion, digest: record.digest,
                                          principal: "alice@example.org", notBefore: Self.now, notAfter: Self.now + 900,
                                          auditHead: .init(sequence: 42, hash: Self.head))
        let signed = try await TestApprovals.sign(statement, keyFile: keyFile)
        let chain = ChainView(head: .init(seq: 42, hash: Self.head)) { $0 == 42 ? Self.head : nil }
        do {
            let change = try ProposalRules.approval(of: record, signed: signed, osAccount: "alice", reason: nil, context: context,
                                                    policy: Self.policy, chain: chain, now: Self.now)
            Issue.record("an expired proposal was approved: \(String(describing: change.transition))")
        } catch {
            #expect(error.code == .wrongState, "\(error)")
        }
        #expect(throws: Refusal.self) {
            try ProposalRules.rejection(of: record, by: "bob", reason: "not needed", policy: Self.policy, now: Self.now)
        }
        #expect(throws: Refusal.self) { try ProposalRules.cancellation(of: record, by: "mcp", reason: "withdrawn", now: Self.now) }

        // APPROVED past its approval: no claim, whatever the signatures say.
        var approved = Self.record(host: host, state: .approved)
        approved.decisions = [.init(approver: "alice@example.org", approves: true, reason: "", digest: record.digest, at: Self.now - 60,
                                    osAccount: "alice", signed: signed)]
        approved.approvalExpiresAt = Self.now - 1
        let claim = ProposalRules.claim(of: approved, executor: "mcp:mcp", currentDigest: record.digest,
                                        owner: ExecutionOwner(host: "h", pid: 1, start: "1"), lease: .seconds(60), context: context,
                                        required: 1, chain: chain, now: Self.now)
        #expect(claim.refusal?.code == .wrongState && claim.change.transition == nil, "\(String(describing: claim.refusal)) \(String(describing: claim.change.transition))")
    }
}

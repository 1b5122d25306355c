import Foundation
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Approve and reject (ActionReview over the in-memory ports, statements signed in-process)")
struct ApprovalTests {
    @Test("An approver's signed statement approves a MEDIUM action: APPROVED until the statement's not-after, principal from the key")
    func approves() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let statementText = try fixture.review.statement(proposal.id, principal: fixture.alice.principal)
        let statement = try ApprovalStatement.parse(statementText)
        #expect(statement.proposalID == proposal.id && statement.host == "web1" && statement.hostKeyFingerprint == UseCaseFixture.hostKey("web1"))
        #expect(statement.digest == proposal.digest && statement.notBefore == fixture.clock.now && statement.notAfter == fixture.clock.now + 900)
        let head = try #require(try fixture.store.head())
        #expect(statement.auditHead == .init(sequence: head.seq, hash: head.hash))
        let approved = try fixture.submit(proposal.id, fixture.alice.sign(statementText), osAccount: "alice")
        #expect(approved.state == .approved && approved.approvedAt == fixture.clock.now && approved.approvalExpiresAt == statement.notAfter)
        #expect(approved.decisions.map(\.approver) == ["alice@example.org"] && approved.decisions.first?.osAccount == "alice")
        #expect(approved.decisions.first?.signed?.statement == statementText)
        #expect(approved.transitions.last?.actor == "key:alice@example.org" && approved.transitions.last?.reason == "1 of 1 signed approvals")
        let approval = try #require(fixture.rows(kind: "approval").first)
        #expect(approval.details["principal"] == "alice@example.org" && approval.details["key"] == fixture.alice.publicKey.fingerprint)
        #expect(approval.details["auditHead"] == "\(head.seq):\(head.hash)" && approval.details["approvals"] == "1 of 1")
        #expect(fixture.store.chain.suffix(2).map(\.outcome) == ["approved", "APPROVED"])
        #expect(AuditChain.verify(fixture.store.chain) == nil)
    }

    @Test("M-of-N: a HIGH action stays PROPOSED after one key, and is APPROVED by a second until the earlier not-after")
    func twoApprovers() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose("reboot_system")
        #expect(proposal.requiredApprovals == 2)
        let first = try fixture.approve(proposal.id, by: fixture.alice, reason: "kernel update")
        #expect(first.state == .proposed && first.approvals == 1 && first.approvalExpiresAt == nil)
        #expect(fixture.rows(kind: "approval").last?.details["approvals"] == "1 of 2")
        let firstNotAfter = fixture.clock.now + 900
        fixture.clock.advance(120)
        let second = try fixture.approve(proposal.id, by: fixture.bob, reason: "agreed")
        #expect(second.state == .approved && second.approvals == 2 && second.approvalExpiresAt == firstNotAfter)
        #expect(second.decisions.map(\.approver) == ["alice@example.org", "bob@example.org"])
    }

    @Test("HIGH needs a reason to approve; the window is the host's maximum, and a longer statement does not count")
    func reasonAndWindow() async throws {
        let fixture = try UseCaseFixture()
        fixture.edit("web1") { $0.approvalMaxWindow = 600 }
        let reboot = try await fixture.propose("reboot_system")
        #expect(await refusal { try fixture.approve(reboot.id, by: fixture.alice, reason: " ") }?.code == .policy)
        let proposal = try await fixture.propose()
        let statement = try ApprovalStatement.parse(try fixture.review.statement(proposal.id, principal: fixture.alice.principal))
        #expect(statement.notAfter.timeIntervalSince(statement.notBefore) == 600)
        var long = statement
        long.notAfter = long.notBefore + 900
        let refused = await refusal { try fixture.submit(proposal.id, try fixture.alice.sign(long), osAccount: "alice") }
        #expect(refused?.code == .signatureInvalid
                && refused?.message.contains("the statement's window (900 s) is longer than web1's maximum (600 s, mcp_approval_max_window)") == true,
                "\(String(describing: refused))")
        #expect(try fixture.submit(proposal.id, try fixture.alice.sign(statement), osAccount: "alice").approvalExpiresAt == statement.notAfter)
    }

    @Test("A digest other than the recomputed one is refused, typed or named by a statement signed elsewhere; none at all too")
    func wrongDigest() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let signed = try fixture.signedStatement(proposal.id, by: fixture.alice)
        let typed = await refusal { try fixture.submit(proposal.id, signed, osAccount: "alice", digest: "sha256:" + String(repeating: "0", count: 64)) }
        #expect(typed?.code == .digestMismatch && typed?.message.contains("the digest you gave") == true)
        // A statement whose digest is not the one reviewed (signed for another request).
        var other = try ApprovalStatement.parse(signed.statement)
        other.digest = "sha256:" + String(repeating: "1", count: 64)
        let named = await refusal { try fixture.submit(proposal.id, try fixture.alice.sign(other), osAccount: "alice") }
        #expect(named?.code == .digestMismatch && named?.message.contains("the signed statement names digest sha256:1111") == true)
        let missing = await refusal {
            _ = try fixture.review.approve(proposal.id, source: .signed(signed), digest: nil, principal: nil, reason: nil, osAccount: "alice")
        }
        #expect(missing?.code == .invalidArgument)
        let stored = try #require(try fixture.store.load(proposal.id))
        #expect(stored.state == .proposed && stored.decisions.isEmpty && fixture.rows(kind: "approval").isEmpty)
    }

    @Test("The proposer's OS account cannot approve, even with an approver's key")
    func selfApproval() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let refused = await refusal { try fixture.approve(proposal.id, by: fixture.alice, osAccount: "svc") }
        #expect(refused?.code == .policy && refused?.message.contains("svc proposed this action") == true, "\(String(describing: refused))")
        #expect(try fixture.store.load(proposal.id)?.decisions.isEmpty == true)
    }

    @Test("One key is one approver: the same key under a second principal is refused, and so is the same principal twice")
    func sameKeyTwice() async throws {
        let fixture = try UseCaseFixture()
        let reboot = try await fixture.rebootApprovedOnceBySharedKey()
        let twice = await refusal { try fixture.approve(reboot.id, by: fixture.alice, principal: "alice-admin@example.org", osAccount: "root") }
        #expect(twice?.code == .policy && twice?.message.contains("which already approved this action as alice@example.org: one key is one approver")
                == true, "\(String(describing: twice))")
        let again = await refusal { try fixture.approve(reboot.id, by: fixture.alice, osAccount: "root") }
        #expect(again?.code == .policy && again?.message.contains("has already decided") == true)
        let stored = try #require(try fixture.store.load(reboot.id))
        #expect(stored.state == .proposed && stored.approvals == 1)
    }

    @Test("A key that is no approver's counts for nothing: no statement for its principal, and its signature on an approver's statement fails")
    func unknownPrincipal() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let statement = await refusal { _ = try fixture.review.statement(proposal.id, principal: fixture.mallory.principal) }
        #expect(statement?.code == .signatureInvalid && statement?.message.contains("is not an approver of web1") == true)
        // mallory's own principal, signed elsewhere: not in mcp_approvers.
        var hers = try ApprovalStatement.parse(try fixture.review.statement(proposal.id, principal: fixture.alice.principal))
        hers.principal = fixture.mallory.principal
        let own = await refusal { try fixture.submit(proposal.id, try fixture.mallory.sign(hers), osAccount: "mallory") }
        #expect(own?.code == .signatureInvalid && own?.message.contains("mallory@example.org is not an approver of web1") == true)
        // alice's statement, mallory's signature.
        let text = try fixture.review.statement(proposal.id, principal: fixture.alice.principal)
        let forged = await refusal { try fixture.submit(proposal.id, fixture.mallory.sign(text), osAccount: "mallory") }
        #expect(forged?.code == .signatureInvalid && forged?.message.contains("the signature is not by alice@example.org's key") == true)
        #expect(try fixture.store.load(proposal.id)?.decisions.isEmpty == true)
    }

    @Test("A statement past its not-after is refused (the clock moved, nothing slept)")
    func expiredStatement() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let signed = try fixture.signedStatement(proposal.id, by: fixture.alice)
        fixture.clock.advance(901)
        let refused = await refusal { try fixture.submit(proposal.id, signed, osAccount: "alice") }
        #expect(refused?.code == .signatureInvalid && refused?.message.contains("the statement expired at") == true, "\(String(describing: refused))")
        #expect(try fixture.store.load(proposal.id)?.state == .proposed)
    }

    @Test("Only a PROPOSED action is approved: a statement made before it was approved, or rejected, is refused as wrong-state")
    func notProposed() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let bobs = try fixture.signedStatement(proposal.id, by: fixture.bob)
        try fixture.approve(proposal.id, by: fixture.alice)
        let late = await refusal { try fixture.submit(proposal.id, bobs, osAccount: "bob") }
        #expect(late?.code == .wrongState && late?.message.contains("the action is APPROVED") == true, "\(String(describing: late))")
        #expect(await refusal { _ = try fixture.review.statement(proposal.id, principal: fixture.bob.principal) }?.code == .wrongState)
        let rejected = try await fixture.propose()
        let alices = try fixture.signedStatement(rejected.id, by: fixture.alice)
        _ = try fixture.review.reject(rejected.id, osAccount: "bob", reason: "not during business hours")
        #expect(await refusal { try fixture.submit(rejected.id, alices, osAccount: "alice") }?.code == .wrongState)
        #expect(try fixture.store.load(proposal.id)?.decisions.count == 1)
    }

    @Test("A statement signed for one proposal does not approve another with the same request and digest")
    func otherProposal() async throws {
        let fixture = try UseCaseFixture()
        let first = try await fixture.propose(), second = try await fixture.propose()
        #expect(first.digest == second.digest)
        let signed = try fixture.signedStatement(first.id, by: fixture.alice)
        let refused = await refusal { try fixture.submit(second.id, signed, osAccount: "alice") }
        #expect(refused?.code == .signatureInvalid && refused?.message.contains("the statement is for proposal \(first.id), not \(second.id)") == true,
                "\(String(describing: refused))")
        #expect(try fixture.store.load(second.id)?.decisions.isEmpty == true)
    }

    @Test("The audit head the approver saw must still be in the log with that hash: rewritten and re-sealed, or cut, the approval is refused")
    func auditHeadRewritten() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let signed = try fixture.signedStatement(proposal.id, by: fixture.alice)
        let anchored = try ApprovalStatement.parse(signed.statement).auditHead.sequence
        let original = fixture.store.chain
        // History rewritten from the anchored row on and re-sealed: the chain verifies, the anchor does not.
        fixture.store.tamperChain { rows in
            for index in rows.indices where rows[index].seq >= anchored {
                if rows[index].seq == anchored { rows[index].detail = #"{"rewritten":"yes"}"# }
                rows[index] = AuditChain.seal(rows[index], previousHash: index == 0 ? AuditChain.genesis : rows[index - 1].hash)
            }
        }
        #expect(AuditChain.verify(fixture.store.chain) == nil)
        let rewritten = await refusal { try fixture.submit(proposal.id, signed, osAccount: "alice") }
        #expect(rewritten?.code == .signatureInvalid && rewritten?.message.contains("does not have the hash the approver saw: the log was rewritten") == true,
                "\(String(describing: rewritten))")
        // The anchored row cut off the end.
        fixture.store.tamperChain { $0 = original.filter { $0.seq < anchored } }
        let cut = await refusal { try fixture.submit(proposal.id, signed, osAccount: "alice") }
        #expect(cut?.code == .signatureInvalid && cut?.message.contains("is not in the audit log (rows were cut off the end)") == true)
        #expect(try fixture.store.load(proposal.id)?.decisions.isEmpty == true)
    }

    @Test("A stored row changed after it was proposed (action swapped, digest kept) is never offered for signing")
    func rewrittenProposal() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose("restart_unbound")
        fixture.store.tamper(proposal.id) { $0.action = "reboot_system" }
        let refused = await refusal { _ = try fixture.review.statement(proposal.id, principal: fixture.alice.principal) }
        #expect(refused?.code == .digestMismatch && refused?.message.contains("the stored digest \(proposal.digest) is not the one") == true,
                "\(String(describing: refused))")
        #expect(try fixture.review.review(proposal.id).problem != nil)
    }

    @Test("A rejection needs a reason and another person than the proposer; it ends the proposal")
    func reject() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        #expect(await refusal { _ = try fixture.review.reject(proposal.id, osAccount: "bob", reason: " ") }?.code == .policy)
        #expect(await refusal { _ = try fixture.review.reject(proposal.id, osAccount: "svc", reason: "mine") }?.code == .policy)
        let rejected = try fixture.review.reject(String(proposal.id.prefix(8)), osAccount: "bob", reason: "not during business hours")
        #expect(rejected.state == .rejected && rejected.decisions.map(\.approves) == [false] && rejected.decisions.first?.approver == "bob")
        #expect(rejected.transitions.last?.actor == "os:bob" && rejected.transitions.last?.reason == "not during business hours")
        #expect(fixture.rows(kind: "state", outcome: "REJECTED").count == 1)
        #expect(await refusal { _ = try fixture.review.reject(proposal.id, osAccount: "carol", reason: "again") }?.code == .wrongState)
    }

    @Test("Ids: a unique prefix of 4 or more resolves; an ambiguous, unknown or malformed one is refused by code")
    func ids() async throws {
        let fixture = try UseCaseFixture()
        let first = try await fixture.propose()
        _ = try await fixture.propose()
        #expect(try fixture.review.review(first.id.uppercased()).record.id == first.id)
        #expect(await refusal { _ = try fixture.review.review("3f2a9c1e") }?.code == .ambiguousID)
        #expect(await refusal { _ = try fixture.review.review("abcd") }?.code == .notFound)
        #expect(await refusal { _ = try fixture.review.review("3f2") }?.code == .invalidArgument)
        #expect(await refusal { _ = try fixture.review.review("3f2a;drop") }?.code == .invalidArgument)
    }
}

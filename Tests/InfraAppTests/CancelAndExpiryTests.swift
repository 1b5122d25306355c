import Foundation
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Cancel and expiry (ActionWorkflow over the in-memory ports, an injected clock)")
struct CancelAndExpiryTests {
    @Test("Only the proposer cancels; someone else is refused and nothing changes")
    func onlyProposer() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let refused = await refusal { _ = try fixture.workflow(user: "eve").cancel(proposal.id, reason: "not needed", by: fixture.workflow(user: "eve").localCaller(client: "c")) }
        #expect(refused?.code == .notProposer && refused?.message.contains("only the proposer (svc)") == true, "\(String(describing: refused))")
        #expect(try fixture.store.load(proposal.id)?.state == .proposed && fixture.rows(kind: "state").count == 1)
    }

    @Test("The proposer cancels a PROPOSED or an APPROVED action, once; a finished one and a bad reason are refused")
    func cancelStates() async throws {
        let fixture = try UseCaseFixture()
        let proposed = try await fixture.propose()
        #expect(await refusal { _ = try fixture.workflow().cancel(proposed.id, reason: "x", by: fixture.workflow().localCaller(client: "c")) }?.code == .invalidArgument)
        #expect(await refusal { _ = try fixture.workflow().cancel(proposed.id, reason: "fixed\u{7}", by: fixture.workflow().localCaller(client: "c")) }?.code == .invalidArgument)
        let cancelled = try fixture.workflow().cancel(proposed.id, reason: "fixed by a config reload", by: fixture.workflow().localCaller(client: "c"))
        #expect(cancelled.record.state == .cancelled && cancelled.record.transitions.last?.actor == "mcp:svc"
                && cancelled.record.transitions.last?.reason == "fixed by a config reload")
        let again = await refusal { _ = try fixture.workflow().cancel(proposed.id, reason: "once more", by: fixture.workflow().localCaller(client: "c")) }
        #expect(again?.code == .wrongState && again?.message.contains("cannot cancel an action that is CANCELLED") == true)
        let approved = try await fixture.approved()
        #expect(try fixture.workflow().cancel(approved.id, reason: "not needed any more", by: fixture.workflow().localCaller(client: "c")).record.state == .cancelled)
        #expect(fixture.rows(kind: "state", outcome: "CANCELLED").count == 2)
    }

    @Test("A proposal not approved within its lifetime expires when it is next read; approving it then is refused")
    func pendingExpires() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        let signed = try fixture.signedStatement(proposal.id, by: fixture.alice)
        fixture.clock.advance(3599)
        #expect(try fixture.workflow().pending().map(\.record.id) == [proposal.id])
        fixture.clock.advance(1)
        #expect(try fixture.workflow().pending().isEmpty)
        let stored = try #require(try fixture.store.load(proposal.id))
        #expect(stored.state == .expired && stored.transitions.last?.actor == "system" && stored.transitions.last?.reason == "not approved in time")
        #expect(stored.transitions.last?.at == fixture.clock.now)
        #expect(await refusal { try fixture.submit(proposal.id, signed, osAccount: "alice") }?.code == .wrongState)
        // Reading again expires nothing twice.
        _ = try fixture.workflow().pending()
        #expect(fixture.rows(kind: "state", outcome: "EXPIRED").count == 1)
    }

    @Test("A proposal found due by any use case expires first, and the use case then sees it EXPIRED")
    func dueBeforeRule() async throws {
        let fixture = try UseCaseFixture()
        let proposal = try await fixture.propose()
        fixture.clock.advance(3601)
        // get() reads the store as it is; the cancel finds it due, writes the expiry and refuses.
        #expect(try fixture.workflow().get(proposal.id).record.state == .proposed)
        let refused = await refusal { _ = try fixture.workflow().cancel(proposal.id, reason: "too late", by: fixture.workflow().localCaller(client: "c")) }
        #expect(refused?.code == .wrongState && refused?.message.contains("EXPIRED") == true, "\(String(describing: refused))")
        #expect(try fixture.store.load(proposal.id)?.transitions.map(\.to) == [.proposed, .expired])
    }
}

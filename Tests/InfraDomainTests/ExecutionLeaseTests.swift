import Foundation
import InfraDomain
import Testing

/// The lease rules on their own (no store, no clock but the `now` given): the renewal, when a run counts as
/// abandoned, the interruption's reason, and the result that comes after an interruption.
@Suite("Execution lease rules")
struct ExecutionLeaseTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let owner = ExecutionOwner(host: "server-a", pid: 42, start: "77", leaseUntil: now + 60)

    /// An EXECUTING record claimed by `owner`.
    static func executing(_ state: ActionLifecycle.State = .executing, owner: ExecutionOwner = owner) -> ProposalRecord {
        ProposalRecord(id: "3f2a9c1e-0000-4000-8000-00000000a001", action: "restart_unbound", host: "web1", parameters: [:],
                       rationale: "unbound is stopped", impact: "LOW", catalogueVersion: "sha256:c", digest: "sha256:d", command: [],
                       verification: [], proposer: "svc", client: "test", state: state, requiredApprovals: 1, createdAt: now - 600,
                       expiresAt: now + 3000, execution: .init(executor: "mcp:svc", owner: owner, startedAt: now - 10))
    }

    @Test("A renewal by the owner moves the deadline only: the same execution, no transition, no audit row")
    func renewal() throws {
        var holder = Self.owner
        holder.leaseUntil = nil
        let change = try #require(ExecutionLease.renewal(of: Self.executing(), by: holder, lease: .seconds(60), now: Self.now + 30))
        var expected = try #require(Self.executing().execution)
        expected.owner.leaseUntil = Self.now + 90
        #expect(change == ProposalChange(execution: expected))
        #expect(change.transition == nil && change.audit.isEmpty)
    }

    @Test("No renewal once the run is no longer EXECUTING or no longer this owner's (same host and PID, another start)")
    func noRenewal() {
        for state in [ActionLifecycle.State.interrupted, .completed, .failed] {
            #expect(ExecutionLease.renewal(of: Self.executing(state), by: Self.owner, lease: .seconds(60), now: Self.now) == nil, "\(state)")
        }
        let other = ExecutionOwner(host: "server-a", pid: 42, start: "78")
        #expect(ExecutionLease.renewal(of: Self.executing(), by: other, lease: .seconds(60), now: Self.now) == nil)
    }

    @Test("Abandoned: once the lease has passed (not at its deadline), or when the caller found the process gone; no lease: the process alone")
    func abandonment() {
        let until = Self.now + 60
        #expect(ExecutionLease.abandonment(of: Self.owner, processGone: false, now: until) == nil)
        #expect(ExecutionLease.abandonment(of: Self.owner, processGone: false, now: until + 0.001) == .leasePassed(until))
        #expect(ExecutionLease.abandonment(of: Self.owner, processGone: true, now: Self.now) == .processGone)
        #expect(ExecutionLease.abandonment(of: Self.owner, processGone: true, now: until + 1) == .leasePassed(until))
        let older = ExecutionOwner(host: "server-a", pid: 42, start: "77")
        #expect(ExecutionLease.abandonment(of: older, processGone: false, now: Self.now + 86_400) == nil)
        #expect(ExecutionLease.abandonment(of: older, processGone: true, now: Self.now) == .processGone)
    }

    @Test("The interruption's reason says how the owner was found gone; the lease's deadline is in the audit row")
    func interruptionReason() throws {
        let lease = try ProposalRules.interruption(of: Self.executing(), because: .leasePassed(Self.now + 60), now: Self.now + 61)
        #expect(lease.transition?.to == .interrupted && lease.transition?.actor == "system")
        #expect(lease.transition?.reason.contains("(pid 42 on server-a) did not renew its lease, which passed at 2027-01-15T08:01:00Z") == true,
                "\(lease.transition?.reason ?? "")")
        #expect(lease.audit.first?.details["leaseUntil"] == "2027-01-15T08:01:00Z")
        #expect(lease.execution?.finishedAt == Self.now + 61 && lease.execution?.verified == "not-checked")
        let gone = try ProposalRules.interruption(of: Self.executing(), because: .processGone, now: Self.now)
        #expect(gone.transition?.reason.contains("(pid 42 on server-a) is gone (process gone)") == true, "\(gone.transition?.reason ?? "")")
        #expect(throws: Refusal.self) { try ProposalRules.interruption(of: Self.executing(.completed), because: .processGone, now: Self.now) }
    }

    @Test("A result after an interruption: only an audit row with the answer, and a refusal saying what happened; none while EXECUTING")
    func lateResult() throws {
        let outcome = ExecutionOutcome(exitCode: 0, stdout: "restarted\n", stderr: "", verification: "active", verified: "yes", succeeded: true)
        #expect(ExecutionLease.lateResult(of: Self.executing(), outcome: outcome, executor: "mcp:svc", now: Self.now) == nil)
        let late = try #require(ExecutionLease.lateResult(of: Self.executing(.interrupted), outcome: outcome, executor: "mcp:svc", now: Self.now))
        #expect(late.change.transition == nil && late.change.execution == nil && late.change.audit.count == 1)
        let row = try #require(late.change.audit.first)
        #expect(row.kind == "execution" && row.outcome == "result-after-interruption" && row.actor == "mcp:svc")
        #expect(row.details["exit"] == "0" && row.details["verified"] == "yes" && row.details["state"] == "INTERRUPTED")
        #expect(late.refusal.code == .wrongState && late.refusal.message.contains("exit 0, verified yes")
                && late.refusal.message.contains("not run again"), "\(late.refusal)")
    }
}

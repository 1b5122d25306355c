import Foundation
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Execute exactly once, and recover interrupted runs (ActionWorkflow over the in-memory ports)")
struct ExecuteTests {
    @Test("The claim sends the request to pra-exec with the signed approvals and the audit head of the claim on stdin, then probes the unit")
    func executes() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun(.ok("restarted\n"))
        let done = try await fixture.workflow().execute(String(approved.id.prefix(8)))
        let runs = fixture.remote.requests(.init(account: .runner))
        #expect(runs.count == 1)
        let run = try #require(runs.first)
        #expect(run.command == "restart_service unit=nginx.service id=\(approved.id)" && run.host.name == "web1" && run.proposalID == approved.id)
        #expect(run.timeout <= .seconds(330) && run.timeout > .seconds(320))
        let claim = try #require(fixture.rows(kind: "state", outcome: "EXECUTING", proposal: approved.id).first)
        let signed = try #require(approved.decisions.first?.signed)
        #expect(String(decoding: run.stdin, as: UTF8.self) == signed.stdinLine + "audit-head \(claim.seq) \(claim.hash)\n")
        #expect(claim.actor == "mcp:svc" && claim.details["reason"]?.contains("execution claimed by pid \(fixture.owner.pid)") == true)
        let probe = try #require(fixture.remote.requests(.init(account: .reader, request: "unit-active")).first)
        #expect(probe.command == "unit-active unit=nginx.service" && probe.proposalID == approved.id)
        let record = done.record
        #expect(record.state == .completed && record.execution?.exitCode == 0 && record.execution?.stdout == "restarted\n")
        #expect(record.execution?.verified == "yes" && record.execution?.verification == "mcp-reader `unit-active unit=nginx.service`: active")
        var holder = fixture.owner
        holder.leaseUntil = fixture.clock.now + 60
        #expect(record.execution?.owner == holder && record.execution?.startedAt == fixture.clock.now, "the owner holds the run for the lease")
        #expect(record.transitions.map(\.to) == [.proposed, .approved, .executing, .completed])
        let runnerRow = try #require(fixture.rows(kind: "ssh").first { $0.details["account"] == "pra-runner" })
        #expect(runnerRow.details["stdinBytes"] == String(run.stdin.count) && runnerRow.details["exit"] == "0" && runnerRow.proposalID == approved.id)
        #expect(AuditChain.verify(fixture.store.chain) == nil)
    }

    @Test("Exactly once: two executes at the same time send one request; a later one is refused as already executed")
    func exactlyOnce() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun(.ok("restarted\n"), delay: .milliseconds(50))
        let workflow = fixture.workflow()
        async let first = refusal { _ = try await workflow.execute(approved.id) }
        async let second = refusal { _ = try await workflow.execute(approved.id) }
        let outcomes = await [first, second]
        #expect(outcomes.filter { $0 == nil }.count == 1, "\(outcomes)")
        let loser = try #require(outcomes.compactMap { $0 }.first)
        #expect(loser.code == .wrongState && loser.message.contains("the action is already executing"), "\(loser)")
        let again = await refusal { _ = try await workflow.execute(approved.id) }
        #expect(again?.code == .wrongState && again?.message.contains("the action was already executed (COMPLETED)") == true)
        #expect(fixture.remote.requests(.init(account: .runner)).count == 1)
        #expect(fixture.rows(kind: "state", outcome: "EXECUTING").count == 1 && fixture.rows(kind: "state", outcome: "refused").count == 2)
    }

    @Test("A busy answer (exit 73) is retried with the same approvals, each attempt audited, and the run completes")
    func busyRetried() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun(.busy, .ok("restarted\n"))
        let done = try await fixture.workflow().execute(approved.id)
        #expect(done.record.state == .completed)
        let runs = fixture.remote.requests(.init(account: .runner))
        #expect(runs.count == 2 && runs[0].stdin == runs[1].stdin && runs[1].timeout < runs[0].timeout)
        let rows = fixture.rows(kind: "ssh").filter { $0.details["account"] == "pra-runner" }
        #expect(rows.map { $0.details["exit"] } == ["73", "0"] && rows.map(\.outcome) == ["exit", "ok"])
    }

    @Test("A connection lost during the run: FAILED, 'not run to completion', nothing verified, no probe")
    func lostConnection() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun(.failure("the connection to web1 was lost"))
        let done = try await fixture.workflow().execute(approved.id)
        let execution = try #require(done.record.execution)
        #expect(done.record.state == .failed && execution.exitCode == nil && execution.verified == "not-checked")
        #expect(execution.stderr?.contains("not run to completion: the connection to web1 was lost") == true, "\(execution.stderr ?? "")")
        #expect(fixture.remote.requests(.init(request: "unit-active")).isEmpty)
        #expect(fixture.rows(kind: "ssh").last?.outcome == "unreachable" && fixture.rows(kind: "state").last?.outcome == "FAILED")
        #expect(fixture.rows(kind: "state").last?.details["exit"] == "none")
    }

    @Test("The action ran but the unit is not active: FAILED, verified no")
    func verificationFailed() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun(.ok("restarted\n"), probe: "inactive\n")
        let done = try await fixture.workflow().execute(approved.id)
        #expect(done.record.state == .failed && done.record.execution?.exitCode == 0 && done.record.execution?.verified == "no")
        #expect(done.record.execution?.verification == "mcp-reader `unit-active unit=nginx.service`: inactive")
        // A failing target exit is a failure too, and nothing is probed.
        let other = try await fixture.approved("restart_unbound")
        fixture.remote.on(account: .runner, request: "restart_unbound", .exit(TargetExitCode.actionFailed.rawValue, stderr: "failed"))
        let failed = try await fixture.workflow().execute(other.id)
        #expect(failed.record.state == .failed && failed.record.execution?.exitCode == 68 && failed.record.execution?.verified == "not-checked")
        #expect(fixture.remote.requests(.init(request: "unit-active")).count == 1)
    }

    @Test("An approval row without a signature (written past `actions approve`) refuses the claim, audited; nothing runs")
    func unsignedApproval() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.store.tamper(approved.id) { $0.decisions[0].signed = nil }
        fixture.scriptRun()
        let refused = await refusal { _ = try await fixture.workflow().execute(approved.id) }
        #expect(refused?.code == .signatureInvalid && refused?.message.contains("carries no signature") == true, "\(String(describing: refused))")
        #expect(try fixture.remote.requests(.init(account: .runner)).isEmpty && (try fixture.store.load(approved.id))?.state == .approved)
        let row = try #require(fixture.rows(kind: "state", outcome: "refused").last)
        #expect(row.proposalID == approved.id && row.details["reason"]?.contains("carries no signature") == true)
    }

    @Test("One key signing under two principals counts once at execution: too few approvers, with the shared key named")
    func sameKeyAtExecution() async throws {
        let fixture = try UseCaseFixture()
        let reboot = try await fixture.rebootApprovedOnceBySharedKey()
        // The second signature written straight into the store, and the state forced.
        let signed = try fixture.signedStatement(reboot.id, by: fixture.alice, principal: "alice-admin@example.org")
        let now = fixture.clock.now
        fixture.store.tamper(reboot.id) {
            $0.decisions.append(.init(approver: "alice-admin@example.org", approves: true, reason: "forged", digest: reboot.digest, at: now,
                                      osAccount: "root", signed: signed))
            $0.state = .approved
            $0.approvalExpiresAt = now + 600
        }
        fixture.scriptRun()
        let refused = await refusal { _ = try await fixture.workflow().execute(reboot.id) }
        #expect(refused?.code == .tooFewApprovers, "\(String(describing: refused))")
        #expect(refused?.message.contains("1 distinct approver keys verified; 2 are needed") == true
                && refused?.message.contains("alice@example.org and alice-admin@example.org signed with the same key") == true)
        #expect(fixture.remote.requests(.init(account: .runner)).isEmpty)
    }

    @Test("An approval not executed within its window expires at the claim: refused, EXPIRED, nothing runs")
    func expiredApproval() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun()
        fixture.clock.advance(try #require(approved.approvalExpiresAt).timeIntervalSince(fixture.clock.now))
        let refused = await refusal { _ = try await fixture.workflow().execute(approved.id) }
        #expect(refused?.code == .wrongState && refused?.message.contains("the action is EXPIRED and can no longer run") == true,
                "\(String(describing: refused))")
        let stored = try #require(try fixture.store.load(approved.id))
        #expect(stored.state == .expired && stored.transitions.last?.reason == "approved but not executed in time")
        #expect(fixture.remote.requests(.init(account: .runner)).isEmpty)
    }

    @Test("The catalogue changed since the approval, or the stored row was rewritten: the digest recomputes differently and nothing runs")
    func digestChanged() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun()
        let newer = try ActionCatalogue.parse(UseCaseFixture.catalogueText + "flush_dns_cache\tLOW\t-\tunbound-control flush_zone .\t-\tyes\tFlush.\n",
                                              source: "newer")
        let refused = await refusal { _ = try await fixture.workflow(catalogue: newer).execute(approved.id) }
        #expect(refused?.code == .digestMismatch && refused?.message.contains("the action's digest changed since it was approved") == true)
        let swapped = try await fixture.approved("restart_unbound")
        fixture.store.tamper(swapped.id) { $0.action = "rotate_logs" }
        #expect(await refusal { _ = try await fixture.workflow().execute(swapped.id) }?.code == .digestMismatch)
        #expect(fixture.remote.requests(.init(account: .runner)).isEmpty)
        #expect(try fixture.store.load(approved.id)?.state == .approved && fixture.rows(kind: "state", outcome: "refused").count == 2)
    }

    @Test("A stopping server abandons a run it cannot finish: refused as stopping, left EXECUTING and audited")
    func stopping() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun(.failure("connection closed by shutdown"))
        let refused = await refusal { _ = try await fixture.workflow().execute(approved.id, stopping: .init { true }) }
        #expect(refused?.code == .stopping, "\(String(describing: refused))")
        #expect(try fixture.store.load(approved.id)?.state == .executing)
        #expect(fixture.rows(kind: "execution", outcome: "left-executing").map(\.proposalID) == [approved.id])
    }

    @Test("At start, a run whose owner process is gone becomes INTERRUPTED (never re-run); one whose owner lives stays EXECUTING")
    func recoverInterrupted() async throws {
        let fixture = try UseCaseFixture()
        let dead = try await fixture.approved(), alive = try await fixture.approved()
        fixture.scriptRun(.failure("connection closed by shutdown"))
        // The dead one was claimed by this host's PID with another start time: a process that has since gone.
        fixture.owner = ExecutionOwner(host: ProcessInfo.processInfo.hostName, pid: Int(getpid()), start: "not-this-process")
        _ = await refusal { _ = try await fixture.workflow().execute(dead.id, stopping: .init { true }) }
        fixture.owner = ExecutionOwnerProbe.current
        _ = await refusal { _ = try await fixture.workflow().execute(alive.id, stopping: .init { true }) }
        #expect(try fixture.store.list(states: [.executing]).count == 2)
        fixture.clock.advance(30)
        #expect(try fixture.workflow().recoverInterrupted() == [dead.id])
        let interrupted = try #require(try fixture.store.load(dead.id))
        #expect(interrupted.state == .interrupted && interrupted.execution?.verified == "not-checked")
        #expect(interrupted.execution?.finishedAt == fixture.clock.now && interrupted.transitions.last?.actor == "system")
        #expect(interrupted.transitions.last?.reason.contains("is gone (process gone)") == true, "\(interrupted.transitions.last?.reason ?? "")")
        #expect(try fixture.store.load(alive.id)?.state == .executing)
        #expect(try fixture.workflow().recoverInterrupted().isEmpty)
        #expect(await refusal { _ = try await fixture.workflow().execute(dead.id) }?.code == .wrongState)
        #expect(fixture.remote.requests(.init(account: .runner)).count == 2)
    }
}

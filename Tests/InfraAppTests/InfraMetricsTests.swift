import Foundation
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import MetricsTestKit
import Testing

@Suite("Metrics where the use cases live: SSH latency, approvals by refusal code, scrape-time gauges, the chain checked incrementally")
struct InfraMetricsTests {
    @Test("Each SSH attempt lands in the latency histogram by host, account and outcome (ok, exit, unreachable)")
    func sshLatency() async throws {
        let metrics = TestMetrics(), store = InMemoryStore(), remote = FakeRemoteExec()
        let exec = AuditedExec(remote: remote, recorder: AuditRecorder(sink: store), actor: "mcp:svc", users: { _ in "u" },
                               defaultTimeout: .seconds(5), metrics: InfraMetrics(factory: metrics))
        let web = InventoryHost(name: "web1", address: "192.0.2.11"), db = InventoryHost(name: "db1", address: "192.0.2.21")
        remote.on(host: "web1", account: .reader, .ok("x"))
        remote.on(host: "web1", account: .runner, .exit(3))
        remote.on(host: "db1", .failure("connection refused"))
        _ = try await exec.run("memory", on: web, account: .reader)
        _ = try await exec.run("memory", on: web, account: .reader)
        _ = try await exec.run("restart_unbound", on: web, account: .runner)
        await #expect(throws: RemoteFailure.self) { _ = try await exec.run("memory", on: db, account: .reader) }
        func values(_ dimensions: [(String, String)]) -> [Int64] {
            metrics.timers(label: InfraMetrics.sshExecDuration, dimensions: dimensions).flatMap(\.values)
        }
        #expect(values([("host", "web1"), ("account", "reader"), ("outcome", "ok")]).count == 2)
        #expect(values([("host", "web1"), ("account", "runner"), ("outcome", "exit")]).count == 1)
        #expect(values([("host", "db1"), ("account", "reader"), ("outcome", "unreachable")]).count == 1)
        #expect(metrics.timers(label: InfraMetrics.sshExecDuration).count == 3)
    }

    @Test("Approvals: accepted counted once; each refusal by its code, never by its message")
    func approvals() async throws {
        let fixture = try UseCaseFixture(), metrics = TestMetrics()
        let review = ActionReview(store: fixture.store, audit: fixture.store, catalogue: fixture.catalogue, cataloguePath: "pra-catalogue.tsv",
                                  inventory: fixture.inventory, approvalContext: fixture.approvalContext, policy: fixture.policy,
                                  knownHostsPath: "known_hosts", now: { [clock = fixture.clock] in clock.now }, metrics: InfraMetrics(factory: metrics))
        let proposal = try await fixture.propose()
        let signed = try fixture.signedStatement(proposal.id, by: fixture.alice)
        let wrongDigest = "sha256:" + String(repeating: "0", count: 64)
        #expect(await refusal { _ = try review.approve(proposal.id, source: .signed(signed), digest: wrongDigest, principal: nil, reason: nil,
                                                        osAccount: "alice") }?.code == .digestMismatch)
        #expect(await refusal { _ = try review.approve("ffff0000", source: .signed(signed), digest: proposal.digest, principal: nil, reason: nil,
                                                        osAccount: "alice") }?.code == .notFound)
        #expect(await refusal { _ = try review.approve(proposal.id, source: .signed(fixture.mallory.sign(signed.statement)), digest: proposal.digest,
                                                        principal: nil, reason: nil, osAccount: "mallory") } != nil)
        let approved = try review.approve(proposal.id, source: .signed(signed), digest: proposal.digest, principal: nil, reason: nil, osAccount: "alice")
        #expect(approved.state == .approved)
        #expect(try metrics.expectCounter(InfraMetrics.approvalsAccepted).totalValue == 1)
        let refused = metrics.counters(label: InfraMetrics.approvalsRefused)
        let byReason = Dictionary(refused.map { ($0.dimensions.first { $0.0 == "reason" }?.1 ?? "?", $0.totalValue) }, uniquingKeysWith: +)
        #expect(byReason["digest-mismatch"] == 1 && byReason["not-found"] == 1 && byReason.values.reduce(0, +) == 3, "\(byReason)")
        #expect(byReason.keys.allSatisfy { Refusal.Code(rawValue: $0) != nil || $0 == "error" }, "\(byReason)")
    }

    @Test("Scrape-time gauges: proposals by state (every state a series), audit rows, the chain, the pool's load")
    func scrapeGauges() async throws {
        let fixture = try UseCaseFixture(), metrics = TestMetrics()
        let first = try await fixture.propose()
        _ = try await fixture.propose("rotate_logs")
        _ = try fixture.approve(first.id, by: fixture.alice)
        let gauges = ScrapeGauges(store: fixture.store, audit: fixture.store, remote: fixture.remote, checkpoint: AuditChainCheckpoint(),
                                  metrics: InfraMetrics(factory: metrics), now: { Date(timeIntervalSince1970: 1_800_000_123) })
        let snapshot = try await gauges.refresh()
        let head = try #require(try fixture.store.head())
        #expect(snapshot.proposals == [.approved: 1, .proposed: 1] && snapshot.load == .idle, "\(snapshot)")
        #expect(snapshot.chain.rows == head.seq && snapshot.chain.verified == head && snapshot.chain.brokenRow == nil)
        func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Double? {
            metrics.recorders.first { $0.label == label && $0.dimensions.elementsEqual(dimensions, by: ==) }?.lastValue
        }
        #expect(gauge(InfraMetrics.proposals, [("state", "APPROVED")]) == 1 && gauge(InfraMetrics.proposals, [("state", "PROPOSED")]) == 1)
        #expect(gauge(InfraMetrics.proposals, [("state", "EXECUTING")]) == 0)
        #expect(metrics.recorders.filter { $0.label == InfraMetrics.proposals }.count == ActionLifecycle.State.allCases.count)
        #expect(gauge(InfraMetrics.auditRows) == Double(head.seq) && gauge(InfraMetrics.auditChainOK) == 1
                && gauge(InfraMetrics.auditChainVerifiedRow) == Double(head.seq))
        #expect(gauge(InfraMetrics.auditChainCheckedTime) == 1_800_000_123 && gauge(InfraMetrics.sshSessionsOpen) == 0
                && gauge(InfraMetrics.sshHandshakesInFlight) == 0)
    }

    @Test("The chain, incrementally: new rows verified from the last one; a changed new row, or a re-sealed rewrite before it, breaks it for good")
    func chainCheckpoint() async throws {
        let store = InMemoryStore(), checkpoint = AuditChainCheckpoint(), at = Date(timeIntervalSince1970: 1_800_000_000)
        func row(_ n: Int) -> AuditChain.Record { AuditChain.Record(actor: "mcp:svc", kind: "tool", outcome: "ok", detail: ["n": "\(n)"]) }
        try await store.append((1...5).map(row))
        var status = try await checkpoint.check(store, at: at)
        #expect(status.rows == 5 && status.verified?.seq == 5 && status.brokenRow == nil)
        try await store.append((6...8).map(row))
        status = try await checkpoint.check(store, at: at)
        #expect(status.rows == 8 && status.verified?.seq == 8 && status.brokenRow == nil)

        // A new row changed behind the log's back (not re-sealed): its hash no longer matches.
        try await store.append((9...10).map(row))
        store.tamperChain { $0[9].detail = "{\"n\":\"forged\"}" }
        status = try await checkpoint.check(store, at: at)
        #expect(status.brokenRow == 10 && status.verified?.seq == 9 && status.problem?.contains("hash") == true, "\(status)")
        // Broken stays broken, whatever comes after.
        try await store.append([row(11)])
        status = try await checkpoint.check(store, at: at)
        #expect(status.rows == 11 && status.brokenRow == 10)

        // Another log: the whole chain rewritten and re-sealed from row 2 changes the last verified row's hash.
        let other = InMemoryStore(), second = AuditChainCheckpoint()
        try await other.append((1...4).map(row))
        #expect(try await second.check(other, at: at).verified?.seq == 4)
        other.tamperChain { rows in
            rows[1].detail = "{\"n\":\"rewritten\"}"
            for index in 1..<rows.count { rows[index] = AuditChain.seal(rows[index], previousHash: rows[index - 1].hash) }
        }
        let rewritten = try await second.check(other, at: at)
        #expect(rewritten.brokenRow == 4 && rewritten.problem?.contains("changed after it was verified") == true, "\(rewritten)")
        // Rows cut off the end are seen too.
        let third = InMemoryStore(), cut = AuditChainCheckpoint()
        try await third.append((1...4).map(row))
        _ = try await cut.check(third, at: at)
        third.tamperChain { $0.removeLast(2) }
        let truncated = try await cut.check(third, at: at)
        #expect(truncated.brokenRow == 4 && truncated.problem?.contains("removed") == true && truncated.rows == 2, "\(truncated)")
    }
}

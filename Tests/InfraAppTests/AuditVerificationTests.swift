import Foundation
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

@Suite("audit verify: the chain, anchors, stored approvals, the witness and the hosts' ledgers (over the in-memory ports)")
struct AuditVerificationTests {
    /// A restart_service on web1 approved by alice and completed; its claim row.
    static func completedRun(_ fixture: UseCaseFixture) async throws -> (record: ProposalRecord, claim: AuditChain.Record) {
        let approved = try await fixture.approved()
        fixture.scriptRun()
        let done = try await fixture.workflow().execute(approved.id)
        #expect(done.record.state == .completed)
        return (done.record, try #require(fixture.rows(kind: "state", outcome: "EXECUTING", proposal: approved.id).first))
    }

    /// A ledger page as the reader's `ledger` verb prints it.
    static func ledger(_ entries: [(id: String, fields: [String: String], approvals: [SignedApproval])]) -> String {
        entries.map { entry in
            let fields = entry.fields.keys.sorted().map { "\($0)=\(entry.fields[$0]!)" }.joined(separator: " ")
            let approvals = entry.approvals.enumerated().map { index, signed in
                "statement \(index + 1) \(Data(signed.statement.utf8).base64EncodedString())\n"
                    + "signature \(index + 1) \(Data(signed.signature.utf8).base64EncodedString())\n"
            }
            return "entry \(entry.id) \(fields)\n" + approvals.joined()
        }.joined()
    }

    /// The entry pra-run writes for `record`, with the head the server sent.
    static func entry(of record: ProposalRecord, head: AuditChain.Record?) -> (id: String, fields: [String: String], approvals: [SignedApproval]) {
        var fields = ["ran": "2027-01-15T08:00:00Z", "action": record.action, "caller": "pra-runner", "approvers": "alice@example.org",
                      "digest": record.digest, "head": head.map { "\($0.seq):\($0.hash)" } ?? "-"]
        for (name, value) in record.parameters { fields["param." + name] = value }
        return (record.id, fields, record.decisions.compactMap(\.signed))
    }

    /// Scripts every host's ledger: `text` for some, empty for the others.
    static func ledgers(_ fixture: UseCaseFixture, _ pages: [String: String]) {
        for host in fixture.hosts.map(\.name) { fixture.remote.on(host: host, account: .reader, request: "ledger", .ok(pages[host] ?? "")) }
    }

    @Test("An untouched history verifies: chain, anchor, the signed approval, and the host's ledger entry reconciled")
    func clean() async throws {
        let fixture = try UseCaseFixture()
        let (record, claim) = try await Self.completedRun(fixture)
        let head = try #require(try fixture.store.head())
        var report = try fixture.verification.verifyLog(anchors: [head])
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.rows == fixture.store.chain.count && report.head == head && report.anchorsHeld == 1 && report.statementsChecked == 1)
        Self.ledgers(fixture, ["web1": Self.ledger([Self.entry(of: record, head: claim)])])
        try await fixture.verification.verifyHosts(ledgers: HostLedgerReader(remote: fixture.remote), report: &report, now: fixture.clock.now)
        #expect(report.problems.isEmpty && report.ledgerEntriesChecked == 1, "\(report.problems)")
        #expect(fixture.remote.requests(.init(request: "ledger")).map(\.host.name) == ["web1", "web2", "db1"])
    }

    @Test("Rows cut off the end: the chain alone verifies, but the anchor, the approval's audit head and the witness name the cut")
    func cutTail() async throws {
        let fixture = try UseCaseFixture()
        let (record, _) = try await Self.completedRun(fixture)
        let head = try #require(try fixture.store.head())
        let anchored = try ApprovalStatement.parse(try #require(record.decisions.first?.signed).statement).auditHead.sequence
        fixture.store.tamperChain { $0.removeAll { $0.seq >= anchored } }
        var report = try fixture.verification.verifyLog(anchors: [head])
        #expect(!report.problems.contains { $0.hasPrefix("row ") }, "the chain itself still verifies: \(report.problems)")
        #expect(report.problems.contains("--anchor \(head): anchored row \(head.seq) is missing: the log ends at row \(anchored - 1) (rows were cut off the end)"),
                "\(report.problems)")
        #expect(report.problems.contains { $0.hasPrefix("approval by alice@example.org of proposal \(record.id)")
            && $0.contains("anchored row \(anchored) is missing: the statement's audit head is not in the audit log (rows were cut off the end)") })
        try fixture.verification.verifyWitness(.heads([head], source: "the journal"), report: &report)
        #expect(report.problems.contains { $0.contains("the journal witnessed row \(head.seq)") && $0.contains("(first missing row: \(anchored))") },
                "\(report.problems)")
    }

    @Test("A row changed in place is named by its sequence number")
    func rewrittenRow() async throws {
        let fixture = try UseCaseFixture()
        _ = try await Self.completedRun(fixture)
        fixture.store.tamperChain { $0[2].outcome = "ok" }
        let report = try fixture.verification.verifyLog(anchors: [])
        #expect(report.problems.first == "row 3: content does not match its hash (the row was changed)", "\(report.problems)")
    }

    @Test("An execution rewritten after it finished (output, exit code, executor) or written outside a claim is named; the honest one is not",
          arguments: ["stdout", "exit", "executor", "planted", "removed"])
    func rewrittenExecution(_ what: String) async throws {
        let fixture = try UseCaseFixture()
        let (record, _) = try await Self.completedRun(fixture)
        #expect(try fixture.verification.verifyLog(anchors: []).problems.isEmpty)
        var target = record.id
        switch what {
        case "stdout": fixture.store.tamper(record.id) { $0.execution?.stdout = "nothing happened here\n" }
        case "exit": fixture.store.tamper(record.id) { $0.execution?.exitCode = 1 }
        case "executor": fixture.store.tamper(record.id) { $0.execution?.executor = "mcp:someone-else" }
        case "planted":
            let approved = try await fixture.approved()
            target = approved.id
            fixture.store.tamper(approved.id) { $0.execution = record.execution }
        default: fixture.store.tamper(record.id) { $0.execution = nil }
        }
        let problems = try fixture.verification.verifyLog(anchors: []).problems
        let expected = switch what {
        case "planted": "the audit log never records its claim"
        case "removed": "no execution is stored"
        default: "its execution row differs from the result the audit chain sealed"
        }
        #expect(problems.contains { $0.hasPrefix("proposal \(target): ") && $0.contains(expected) }, "\(problems)")
    }

    @Test("An INTERRUPTED run whose execution row holds a result (written after the fact) is named")
    func interruptedWithAResult() async throws {
        let fixture = try UseCaseFixture()
        let (record, _) = try await Self.completedRun(fixture)
        fixture.store.tamper(record.id) { $0.state = .interrupted }
        let problems = try fixture.verification.verifyLog(anchors: []).problems
        #expect(problems.contains { $0.hasPrefix("proposal \(record.id): it is INTERRUPTED, but its execution row holds a result") }, "\(problems)")
    }

    @Test("An approval stored without a signature never counted, and is named")
    func unsignedApproval() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.store.tamper(approved.id) { $0.decisions[0].signed = nil }
        let report = try fixture.verification.verifyLog(anchors: [])
        #expect(report.problems == ["approval by alice@example.org of proposal \(approved.id): no signature (it never counted)"], "\(report.problems)")
        #expect(report.statementsChecked == 0)
    }

    @Test("A proposal the chain records but the store lost is named, and so is a state history no action can have")
    func storeRewritten() async throws {
        let fixture = try UseCaseFixture()
        let lost = try await fixture.propose(), forced = try await fixture.propose()
        fixture.store.delete(lost.id)
        fixture.store.tamper(forced.id) { $0.state = .approved }
        let report = try fixture.verification.verifyLog(anchors: [])
        #expect(report.problems.contains("proposal \(lost.id): the audit log records it, but the store has none (its rows were deleted)"))
        #expect(report.problems.contains { $0.hasPrefix("proposal \(forced.id): the store says APPROVED, but the audit log's last state for it is PROPOSED") })
    }

    @Test("Ledger entries the store cannot account for: an unknown proposal, a proposal of another host, a rewritten action, a head that is no claim")
    func foreignEntries() async throws {
        let fixture = try UseCaseFixture()
        let (record, claim) = try await Self.completedRun(fixture)
        var unknown = Self.entry(of: record, head: claim)
        unknown.id = "0badc0de-0000-4000-8000-000000000000"
        var rewritten = Self.entry(of: record, head: try #require(fixture.store.chain.first))
        rewritten.fields["action"] = "reboot_system"
        Self.ledgers(fixture, ["web1": Self.ledger([unknown, rewritten]), "web2": Self.ledger([Self.entry(of: record, head: claim)])])
        var report = try fixture.verification.verifyLog(anchors: [])
        try await fixture.verification.verifyHosts(ledgers: HostLedgerReader(remote: fixture.remote), report: &report, now: fixture.clock.now)
        let problems = report.problems
        #expect(report.ledgerEntriesChecked == 3)
        #expect(problems.contains("host web1, ledger entry \(unknown.id): ran on the host, but the store has no such proposal (its rows and decisions were deleted)"),
                "\(problems)")
        #expect(problems.contains { $0.hasPrefix("host web1, ledger entry \(record.id): the host ran reboot_system unit=nginx.service") && $0.hasSuffix("(the row was rewritten)") })
        #expect(problems.contains("host web1, ledger entry \(record.id): the audit head sent with it (row 1) is not this proposal's execution claim"))
        #expect(problems.contains("host web2, ledger entry \(record.id): ran on web2, but the store says the proposal is for web1"))
        // The entry on web2 is not web1's: web1 has none that reconciles, but it has an entry with the id, so no run is missing.
        #expect(!problems.contains { $0.contains("but the host's ledger has no entry for it") })
    }

    @Test("A run the chain records with no ledger entry on its host is named; one older than the ledger keeps is not looked for")
    func runWithoutEntry() async throws {
        let fixture = try UseCaseFixture()
        let (record, _) = try await Self.completedRun(fixture)
        Self.ledgers(fixture, [:])
        var report = try fixture.verification.verifyLog(anchors: [])
        try await fixture.verification.verifyHosts(ledgers: HostLedgerReader(remote: fixture.remote), report: &report, now: fixture.clock.now)
        #expect(report.problems == ["proposal \(record.id): the audit log records it ran on web1 (exit 0), but the host's ledger has no entry for it"],
                "\(report.problems)")
        var later = try fixture.verification.verifyLog(anchors: [])
        try await fixture.verification.verifyHosts(ledgers: HostLedgerReader(remote: fixture.remote), report: &later,
                                                   now: fixture.clock.now + AuditVerification.ledgerRetention + 1)
        #expect(later.problems.isEmpty, "\(later.problems)")
    }

    @Test("A ledger that cannot be read is named for its host as not checked (no finding), and the other hosts are still read")
    func unreadableLedger() async throws {
        let fixture = try UseCaseFixture()
        Self.ledgers(fixture, [:])
        fixture.remote.on(host: "web2", request: "ledger", .exit(TargetExitCode.refused.rawValue, stderr: "refused: unknown verb ledger"))
        var report = try fixture.verification.verifyLog(anchors: [])
        try await fixture.verification.verifyHosts(ledgers: HostLedgerReader(remote: fixture.remote), report: &report, now: fixture.clock.now)
        #expect(report.unchecked == ["host web2: cannot read its ledger: ledger exit 64: refused: unknown verb ledger"], "\(report.unchecked)")
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(fixture.remote.requests(.init(request: "ledger")).count == 3)
    }

    @Test("The ledger is read page by page after the last id, to the end; ids that do not ascend are refused")
    func ledgerPaging() async throws {
        let fixture = try UseCaseFixture()
        let host = try #require(fixture.inventory.host(named: "web1"))
        let ids = ["0001-a", "0002-b", "0003-c"]
        func page(_ names: [String]) -> String { Self.ledger(names.map { ($0, ["action": "rotate_logs"], []) }) }
        fixture.remote.on(host: "web1", request: "ledger lines=2", .ok(page(Array(ids[0..<2]))))
        fixture.remote.on(host: "web1", request: "ledger lines=2 after=0002-b", .ok(page([ids[2]])))
        let entries = try await HostLedgerReader(remote: fixture.remote, pageSize: 2).entries(of: host)
        #expect(entries.map(\.id) == ids && entries.allSatisfy { $0.action == "rotate_logs" })
        #expect(fixture.remote.requests.map(\.command) == ["ledger lines=2", "ledger lines=2 after=0002-b"])
        fixture.remote.on(host: "web1", request: "ledger lines=2 after=0002-b", .ok(page(["0001-z", "0004-d"])))
        await #expect(throws: HostLedgerReader.Problem.self) { _ = try await HostLedgerReader(remote: fixture.remote, pageSize: 2).entries(of: host) }
    }
}

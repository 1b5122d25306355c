import Foundation
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

/// A clock the tests move (the use cases take `now` from it; nothing here sleeps for a window to pass).
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var date: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        date = start
    }

    var now: Date { lock.withLock { date } }
    func advance(_ seconds: TimeInterval) { lock.withLock { date += seconds } }
}

/// The use cases over the in-memory ports: three hosts (web1 and web2 in group web, db1 in group db) whose
/// approvers are alice and bob, a catalogue, a store, a scripted remote and a clock. Each use case is built
/// anew from the current configuration, so a test may change the inventory or the catalogue first.
final class UseCaseFixture: @unchecked Sendable {
    static let catalogueText = [
        "restart_unbound\tLOW\t-\tsystemctl restart unbound.service\tsystemctl is-active --quiet unbound.service\tyes\tRestart unbound.",
        "restart_service\tMEDIUM\tunit:allowed-service:^[A-Za-z0-9][A-Za-z0-9_.@-]{0,120}[.]service$\tsystemctl restart -- {unit}\t"
            + "systemctl is-active --quiet -- {unit}\tyes\tRestart one service of mcp_allowed_services.",
        "rotate_logs\tLOW\t-\tlogrotate --force /etc/logrotate.conf\ttest -s /var/lib/logrotate/status\tno\tRotate the logs.",
        "reboot_system\tHIGH\t-\tsystemctl reboot\t-\tno\tReboot the host.",
    ].joined(separator: "\n") + "\n"

    let clock = TestClock()
    /// The busy rule's time (pauses pass at once).
    let execTime = ManualTiming()
    let store = InMemoryStore()
    let remote = FakeRemoteExec()
    let alice = TestApproverKey("alice"), bob = TestApproverKey("bob"), mallory = TestApproverKey("mallory")
    /// The proposer: the OS account the server runs as.
    let user = "svc"
    var catalogue: ActionCatalogue
    var hosts: [InventoryHost]
    var policy = ApprovalPolicy(requiredApprovals: [.low: 1, .medium: 1, .high: 2], proposalLifetime: .seconds(3600),
                                approvalLifetime: .seconds(900))
    /// The process that claims executions (alive by default).
    var owner = ExecutionOwnerProbe.current
    private var issued = 0

    init() throws {
        catalogue = try ActionCatalogue.parse(Self.catalogueText, source: "pra-catalogue.tsv")
        func host(_ name: String, _ number: Int, group: String) -> InventoryHost {
            var host = InventoryHost(name: name, address: "192.0.2.\(number)", groups: ["all", group], allowedServices: ["nginx.service"])
            host.approvers = [TestApproverKey("alice").approver(), TestApproverKey("bob").approver()]
            host.httpChecks = ["https://status.example.org/"]
            return host
        }
        hosts = [host("web1", 11, group: "web"), host("web2", 12, group: "web"), host("db1", 21, group: "db")]
        // Every host runs this release's catalogue.
        remote.on(account: .reader, request: AuditedExec.versionRequest, .ok(Self.versionAnswer(catalogueHash: Self.catalogueHash)))
    }

    static var catalogueHash: String { ComponentDrift.sha256Hex(Array(catalogueText.utf8)) }

    /// What mcp-wrapper's `version` prints, with the catalogue's hash.
    static func versionAnswer(catalogueHash: String) -> String {
        "mcp-wrapper 1.0.0 role=reader user=mcp-reader\nsha256 \(catalogueHash) /usr/local/lib/mcp-linux-infra/pra-catalogue.tsv\n"
    }

    var inventory: Inventory {
        Inventory(hosts: hosts, groups: ["all": hosts.map(\.name), "web": ["web1", "web2"], "db": ["db1"], "ungrouped": []])
    }

    /// The key pinned for a host in known_hosts.
    static func hostKey(_ name: String) -> String {
        "SHA256:" + String((name + String(repeating: "K", count: 43)).prefix(43))
    }

    var approvalContext: ApprovalContext {
        ApprovalContext(hosts: hosts, pinnedHostKeys: Dictionary(uniqueKeysWithValues: hosts.map { ($0.name, [Self.hostKey($0.name)]) }),
                        preferredWindow: 900)
    }

    /// Edits one inventory host.
    func edit(_ name: String, _ change: (inout InventoryHost) -> Void) {
        guard let index = hosts.firstIndex(where: { $0.name == name }) else { return }
        change(&hosts[index])
    }

    var exec: AuditedExec {
        AuditedExec(remote: remote, recorder: AuditRecorder(sink: store), actor: AuditActor.server(user),
                    users: { $0 == .reader ? "mcp-reader" : "pra-runner" }, defaultTimeout: .seconds(5), clock: execTime.timing)
    }

    /// The AI's side, as `user` (the proposer by default), with `catalogue` (this fixture's by default).
    func workflow(user: String? = nil, catalogue: ActionCatalogue? = nil) -> ActionWorkflow {
        let catalogue = catalogue ?? self.catalogue
        return ActionWorkflow(store: store, exec: exec, catalogue: catalogue, inventory: inventory,
                              releaseComponents: ["pra-catalogue.tsv": Self.catalogueHash], approvalContext: approvalContext, policy: policy,
                              user: user ?? self.user, runner: "pra-runner", owner: { [owner] in owner }, now: { [clock] in clock.now },
                              makeID: { [self] in nextID() })
    }

    /// The human side.
    var review: ActionReview {
        ActionReview(store: store, audit: store, catalogue: catalogue, cataloguePath: "pra-catalogue.tsv", inventory: inventory,
                     approvalContext: approvalContext, policy: policy, knownHostsPath: "known_hosts", now: { [clock] in clock.now })
    }

    var verification: AuditVerification { AuditVerification(store: store, audit: store, inventory: inventory) }

    private func nextID() -> String {
        issued += 1
        return String(format: "3f2a9c1e-0000-4000-8000-%012d", issued)
    }

    // MARK: Steps

    /// Proposes `action` (restart_service for nginx.service by default) on `host`.
    @discardableResult
    func propose(_ action: String = "restart_service", on host: String = "web1", parameters: [String: String]? = nil) async throws -> ProposalRecord {
        let workflow = workflow()
        return try await workflow.propose(host: host, action: action,
                                          parameters: parameters ?? (action == "restart_service" ? ["unit": "nginx.service"] : [:]),
                                          rationale: "nginx answers 502 on \(host) since 10:02", by: workflow.localCaller(client: "test-client"))
    }

    /// The statement `key` signs for `id` now, signed (as `principal`, default the key's own).
    func signedStatement(_ id: String, by key: TestApproverKey, principal: String? = nil) throws -> SignedApproval {
        key.sign(try review.statement(id, principal: principal ?? key.principal))
    }

    /// `key` approves `id` through `actions approve` with a statement signed elsewhere, after reading the digest.
    @discardableResult
    func approve(_ id: String, by key: TestApproverKey, principal: String? = nil, reason: String? = "checked the logs",
                 osAccount: String? = nil) throws -> ProposalRecord {
        let signed = try signedStatement(id, by: key, principal: principal)
        return try submit(id, signed, osAccount: osAccount ?? String(key.principal.prefix { $0 != "@" }), reason: reason)
    }

    /// Records `signed` for `id` with the digest the review shows.
    @discardableResult
    func submit(_ id: String, _ signed: SignedApproval, osAccount: String, reason: String? = "checked the logs",
                digest: String? = nil) throws -> ProposalRecord {
        try review.approve(id, source: .signed(signed), digest: digest ?? review.review(id).digest, principal: nil, reason: reason,
                           osAccount: osAccount)
    }

    /// A proposal approved by alice (and bob, for a HIGH action).
    func approved(_ action: String = "restart_service", on host: String = "web1") async throws -> ProposalRecord {
        let proposal = try await propose(action, on: host)
        var record = try approve(proposal.id, by: alice)
        if record.state == .proposed { record = try approve(proposal.id, by: bob) }
        return record
    }

    /// A reboot of web1 (HIGH: two keys needed) approved by alice, on an inventory that lists alice's key a second
    /// time as alice-admin (one the parser would refuse, but the server's account may have edited it).
    func rebootApprovedOnceBySharedKey() async throws -> ProposalRecord {
        edit("web1") { [alice] in $0.approvers.append(alice.approver(as: "alice-admin@example.org")) }
        let reboot = try await propose("reboot_system")
        return try approve(reboot.id, by: alice, reason: "kernel update")
    }

    /// Scripts the runner account's answer to the action, and the reader's probe of the unit.
    func scriptRun(_ answers: FakeRemoteExec.Answer..., probe: String = "active\n", delay: Duration = .zero) {
        remote.on(account: .runner, delay: delay, answers.isEmpty ? [.ok("restarted\n")] : answers)
        remote.on(account: .reader, request: "unit-active", .ok(probe))
    }

    /// The audit rows of one kind (and outcome).
    func rows(kind: String, outcome: String? = nil, proposal: String? = nil) -> [AuditChain.Record] {
        store.chain.filter { row in
            row.kind == kind && (outcome.map { row.outcome == $0 } ?? true) && (proposal.map { row.proposalID == $0 } ?? true)
        }
    }
}

/// The refusal `body` threw (nil when it threw something else or nothing).
func refusal(_ body: () async throws -> Void) async -> Refusal? {
    do {
        try await body()
        return nil
    } catch let refusal as Refusal {
        return refusal
    } catch {
        Issue.record("not a refusal: \(error)")
        return nil
    }
}

import Foundation
import InfraApp
import InfraDomain

/// Two servers on two machines sharing one store, for the execution lease: each is an ``ActionWorkflow`` on its
/// own handle of the store (another connection where the backend has them), owned by its own machine
/// (`server-a.example.test`, `server-b.example.test`, never this one, so no /proc check applies), both on one
/// clock the test moves, and one remote whose runner account answers only once the test releases it
/// (``HeldRemote``). One host, web1, whose approver is alice; one LOW action, restart_unbound.
public final class SharedStoreServers: @unchecked Sendable {
    /// The store handles of server A and server B.
    public let handles: [StoreConformance.Opened]
    /// The hosts, holding every runner request until released.
    public let remote: HeldRemote
    /// The scripted answers behind ``remote``.
    public let script = FakeRemoteExec()
    let alice = TestApproverKey("alice")
    let catalogue: ActionCatalogue
    let inventory: Inventory
    let context: ApprovalContext
    let policy = ApprovalPolicy(requiredApprovals: [.low: 1], proposalLifetime: .seconds(3600), approvalLifetime: .seconds(900))
    let release: [String: String]
    private let lock = NSLock()
    private var date = Date(timeIntervalSince1970: 1_800_000_000)

    /// The servers over `first` (A) and `second` (B): two handles on one store.
    public init(_ first: StoreConformance.Opened, _ second: StoreConformance.Opened) throws {
        handles = [first, second]
        catalogue = try ActionCatalogue.parse(InMemoryServerServices.catalogueText, source: "pra-catalogue.tsv")
        var host = InventoryHost(name: "web1", address: "192.0.2.11", groups: ["all"])
        host.approvers = [alice.approver()]
        inventory = Inventory(hosts: [host], groups: ["all": ["web1"], "ungrouped": []])
        context = ApprovalContext(hosts: [host], pinnedHostKeys: ["web1": ["SHA256:" + String(repeating: "p", count: 43)]], preferredWindow: 900)
        release = ["pra-catalogue.tsv": ComponentDrift.sha256Hex(Array(InMemoryServerServices.catalogueText.utf8))]
        script.on(account: .reader, request: "version",
                  .ok("mcp-wrapper 1.0.0\nsha256 \(release["pra-catalogue.tsv"]!) /usr/local/lib/mcp-linux-infra/pra-catalogue.tsv\n"))
        script.on(account: .reader, request: "unit-active", .ok("active\n"))
        script.on(account: .runner, .ok("restarted\n"))
        remote = HeldRemote(script)
    }

    /// The shared clock (both servers are on NTP).
    public var now: Date { lock.withLock { date } }

    /// Moves the shared clock by `seconds`.
    public func advance(_ seconds: TimeInterval) { lock.withLock { date += seconds } }

    /// The owner of server `index` (0 is A, 1 is B).
    public static func owner(_ index: Int) -> ExecutionOwner {
        ExecutionOwner(host: index == 0 ? "server-a.example.test" : "server-b.example.test", pid: 4000 + index, start: "12345")
    }

    /// Server `index`'s use cases on its own handle (or on `handle`'s), with a lease of `lease` (on the shared clock,
    /// `skew` seconds ahead on this server) renewed every `renewal` (real time).
    public func server(_ index: Int, handle: Int? = nil, lease: Duration = .seconds(60), renewal: Duration,
                       skew: TimeInterval = 0) -> ActionWorkflow {
        let handle = handles[handle ?? index]
        let exec = AuditedExec(remote: remote, recorder: AuditRecorder(sink: handle.audit), actor: AuditActor.server("svc"),
                               users: { $0 == .reader ? "mcp-reader" : "pra-runner" }, defaultTimeout: .seconds(600))
        return ActionWorkflow(store: handle.actions, exec: exec, catalogue: catalogue, inventory: inventory, releaseComponents: release,
                              approvalContext: context, policy: policy, user: "svc", runner: "pra-runner", owner: { Self.owner(index) },
                              executionLease: lease, renewalInterval: renewal, now: { [self] in now + skew })
    }

    /// A restart of unbound on web1 proposed through server A and approved by alice; its id.
    public func approvedProposal() async throws -> String {
        let workflow = server(0, renewal: .seconds(3600))
        let id = try await workflow.propose(host: "web1", action: "restart_unbound", parameters: [:], rationale: "unbound is stopped on web1",
                                            by: workflow.localCaller(client: "test-client")).id
        let review = ActionReview(store: handles[0].actions, audit: handles[0].audit, catalogue: catalogue, cataloguePath: "pra-catalogue.tsv",
                                  inventory: inventory, approvalContext: context, policy: policy, knownHostsPath: "known_hosts",
                                  now: { [self] in now })
        let signed = alice.sign(try review.statement(id, principal: alice.principal))
        _ = try review.approve(id, source: .signed(signed), digest: try review.review(id).digest, principal: nil, reason: "checked the logs",
                               osAccount: "alice")
        return id
    }

    /// The audit rows of `proposal` of this kind (and outcome), as server B reads them.
    public func rows(_ proposal: String, kind: String, outcome: String? = nil) throws -> [AuditChain.Record] {
        var filter = AuditFilter()
        filter.proposalID = proposal
        filter.kind = kind
        filter.outcome = outcome
        return try handles[1].audit.records(filter)
    }

    /// True as soon as `condition` holds, false if it still does not after `limit` (checked every few milliseconds).
    public static func poll(within limit: Duration = .seconds(10), _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return try condition()
    }

    /// The remote-execution port of ``SharedStoreServers``: requests of the runner account (an approved action)
    /// wait until ``release()``, then get the script's answer; every other request is answered at once.
    public final class HeldRemote: RemoteExec, @unchecked Sendable {
        private let script: FakeRemoteExec
        private let lock = NSLock()
        private var released = false
        private var held: [CheckedContinuation<Void, Never>] = []
        private var arrived = 0

        init(_ script: FakeRemoteExec) {
            self.script = script
        }

        /// Runner requests received so far (an action sent to the host).
        public var runnerRequests: Int { lock.withLock { arrived } }

        /// Lets every held runner request, and every later one, through.
        public func release() {
            let waiting: [CheckedContinuation<Void, Never>] = lock.withLock {
                released = true
                defer { held = [] }
                return held
            }
            for continuation in waiting { continuation.resume() }
        }

        public func run(_ request: RemoteRequest) async throws -> ExecResult {
            if request.account == .runner {
                await withCheckedContinuation { continuation in
                    let go: Bool = lock.withLock {
                        arrived += 1
                        if !released { held.append(continuation) }
                        return released
                    }
                    if go { continuation.resume() }
                }
            }
            return try await script.run(request)
        }

        public func authenticationMethod(host: String, user: String) async -> String? { nil }

        public func shutdown(within limit: Duration) async {}
    }
}

import Foundation
import InfraApp
import InfraDomain
import Logging

/// The execution lease across servers sharing one store, written only against the ports (``SharedStoreServers``:
/// two ``ActionWorkflow``s on two handles of one store, owned by two other machines, on one clock the test
/// moves; never a real lease length waited for). SQLite runs them from `Tests/InfraStoreSQLiteTests`, the
/// in-memory fake from `Tests/InfraAppTests`; another backend joins with one test file and a `make`, as in
/// ``StoreConformance``. A scenario that does not hold throws ``StoreConformance/Failure``.
public struct LeaseScenarios: Sendable {
    /// One scenario.
    public enum Scenario: CaseIterable, Sendable, CustomStringConvertible {
        case leasePassed, renewalHolds, resultAfterInterruption, concurrentSweeps, backgroundSweep

        public var description: String {
            switch self {
            case .leasePassed:
                "a server that stops renewing: another server's sweep leaves the run EXECUTING while the lease holds, "
                    + "marks it INTERRUPTED once it passed, exactly once and audited; it is never re-run"
            case .renewalHolds:
                "a server that keeps renewing is not interrupted, even after more than one lease length; renewals write no audit row"
            case .resultAfterInterruption:
                "a server whose run was marked INTERRUPTED meanwhile (its clock lagged past its lease): the host's answer is audited "
                    + "as result-after-interruption, the client is refused with what happened, the run stays INTERRUPTED"
            case .concurrentSweeps:
                "two servers sweeping one passed lease at once: one INTERRUPTED transition, one audit row"
            case .backgroundSweep:
                "the background sweep marks a passed lease INTERRUPTED within its interval and stops when told"
            }
        }
    }

    /// The backend's name, in failures.
    public let backend: String
    let make: @Sendable () throws -> StoreConformance.Fresh

    /// The scenarios for one backend: `make` gives a fresh, empty store each time (``StoreConformance/Fresh``).
    public init(backend: String, make: @escaping @Sendable () throws -> StoreConformance.Fresh) {
        self.backend = backend
        self.make = make
    }

    /// Runs one scenario on a fresh store, removed afterwards.
    public func check(_ scenario: Scenario) async throws {
        let fresh = try make()
        defer { fresh.remove() }
        let servers = try SharedStoreServers(fresh.opened, try fresh.reopen())
        var running: Task<Result<ProposalReview, Error>, Never>?
        let outcome: Result<Void, Error>
        do {
            switch scenario {
            case .leasePassed: try await leasePassed(servers, &running)
            case .renewalHolds: try await renewalHolds(servers, &running)
            case .resultAfterInterruption: try await resultAfterInterruption(servers, &running)
            case .concurrentSweeps: try await concurrentSweeps(servers, &running)
            case .backgroundSweep: try await backgroundSweep(servers, &running)
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        // Whatever happened, server A's held run returns before the store goes.
        servers.remote.release()
        if let running { _ = await running.value }
        try outcome.get()
    }

    // MARK: - Scenarios

    func leasePassed(_ servers: SharedStoreServers, _ running: inout Task<Result<ProposalReview, Error>, Never>?) async throws {
        let id = try await servers.approvedProposal()
        let serverA = servers.server(0, renewal: .seconds(3600)), serverB = servers.server(1, renewal: .seconds(3600))
        running = try await startHeld(serverA, id, servers)
        let claimed = try require(try servers.handles[1].actions.load(id), "the claimed action is gone")
        var owner = SharedStoreServers.owner(0)
        owner.leaseUntil = servers.now + 60
        try require(claimed.state == .executing && claimed.execution?.owner == owner,
                    "the claim did not store its owner and lease (now + 60 s): \(String(describing: claimed.execution?.owner))")
        let sweepB = StoreSweep(workflow: serverB)
        servers.advance(60)
        try require(try sweepB.once().interrupted.isEmpty, "B interrupted a run whose lease had not passed yet")
        try require(try servers.handles[1].actions.load(id)?.state == .executing, "the run left EXECUTING before its lease passed")
        servers.advance(1)
        try require(try sweepB.once() == .init(interrupted: [id], expired: []), "B's sweep after the lease did not interrupt exactly this run")
        let stored = try require(try servers.handles[0].actions.load(id), "the interrupted action is gone")
        let transition = try require(stored.transitions.last, "no transition")
        try require(stored.state == .interrupted && transition.actor == "system" && stored.execution?.verified == "not-checked",
                    "not INTERRUPTED by the system: \(stored.state) \(transition)")
        try require(transition.reason.contains("did not renew its lease, which passed at \(UTCTime.text(owner.leaseUntil!))"),
                    "the reason does not say the lease passed: \(transition.reason)")
        let rows = try servers.rows(id, kind: "state", outcome: "INTERRUPTED")
        try require(rows.count == 1 && rows[0].details["leaseUntil"] == UTCTime.text(owner.leaseUntil!), "INTERRUPTED rows: \(rows)")
        try require(try sweepB.once().interrupted.isEmpty && (try servers.rows(id, kind: "state", outcome: "INTERRUPTED")).count == 1,
                    "a second sweep wrote again")
        do {
            _ = try await serverB.execute(id)
            throw failure("B executed the INTERRUPTED action again")
        } catch let refusal as Refusal {
            try require(refusal.code == .wrongState, "B's execute of an INTERRUPTED action: \(refusal)")
        }
        try require(servers.remote.runnerRequests == 1, "the action was sent to the host \(servers.remote.runnerRequests) times")
    }

    func renewalHolds(_ servers: SharedStoreServers, _ running: inout Task<Result<ProposalReview, Error>, Never>?) async throws {
        let id = try await servers.approvedProposal()
        let serverA = servers.server(0, renewal: .milliseconds(5))
        let sweepB = StoreSweep(workflow: servers.server(1, renewal: .seconds(3600)))
        let task = try await startHeld(serverA, id, servers)
        running = task
        // Three times 40 s: 120 s, two lease lengths, each step after A renewed on the moved clock.
        for _ in 1...3 {
            servers.advance(40)
            let renewed = try await SharedStoreServers.poll {
                try servers.handles[1].actions.load(id)?.execution?.owner.leaseUntil == servers.now + 60
            }
            try require(renewed, "A did not renew its lease to now + 60 s")
            try require(try sweepB.once().interrupted.isEmpty, "B interrupted a run whose owner renews its lease")
        }
        servers.remote.release()
        let done = try await task.value.get()
        try require(done.record.state == .completed, "A's run did not complete: \(done.record.state)")
        let states = try servers.rows(id, kind: "state").map(\.outcome)
        try require(states == ["PROPOSED", "APPROVED", "EXECUTING", "COMPLETED"], "renewals wrote audit rows, or a state is missing: \(states)")
    }

    func resultAfterInterruption(_ servers: SharedStoreServers, _ running: inout Task<Result<ProposalReview, Error>, Never>?) async throws {
        let id = try await servers.approvedProposal()
        // A renews often but its clock lags B's by 2 minutes (NTP broken): what A writes has passed by B's clock.
        let serverA = servers.server(0, renewal: .milliseconds(5))
        let sweepB = StoreSweep(workflow: servers.server(1, renewal: .seconds(3600), skew: 120))
        let task = try await startHeld(serverA, id, servers)
        running = task
        try require(try sweepB.once().interrupted == [id], "B did not interrupt a run whose lease passed by its clock")
        servers.remote.release()
        switch await task.value {
        case .success(let review):
            throw failure("A recorded a result over INTERRUPTED: \(review.record.state)")
        case .failure(let error):
            let refusal = try require(error as? Refusal, "A's execute failed without a refusal: \(error)")
            try require(refusal.code == .wrongState && refusal.message.contains("result-after-interruption")
                        && refusal.message.contains("exit 0") && refusal.message.contains("INTERRUPTED"), "A's refusal: \(refusal)")
        }
        let late = try servers.rows(id, kind: "execution", outcome: "result-after-interruption")
        try require(late.count == 1 && late[0].details["exit"] == "0" && late[0].details["verified"] == "yes" && late[0].actor == "mcp:svc",
                    "the late answer's audit row: \(late)")
        let stored = try require(try servers.handles[1].actions.load(id), "the action is gone")
        try require(stored.state == .interrupted && stored.execution?.exitCode == nil && stored.transitions.last?.to == .interrupted,
                    "the late answer changed the stored run: \(stored.state) \(String(describing: stored.execution))")
        try require(AuditChain.verify(try servers.handles[0].audit.records(AuditFilter())) == nil, "the chain does not verify")
    }

    func concurrentSweeps(_ servers: SharedStoreServers, _ running: inout Task<Result<ProposalReview, Error>, Never>?) async throws {
        let id = try await servers.approvedProposal()
        running = try await startHeld(servers.server(0, renewal: .seconds(3600)), id, servers)
        servers.advance(61)
        // Servers B and C, each on its own handle of the store, sweeping together, four times each.
        let sweeps = [StoreSweep(workflow: servers.server(1, renewal: .seconds(3600))),
                      StoreSweep(workflow: servers.server(1, handle: 0, renewal: .seconds(3600)))]
        let results = await StoreConformance.concurrently(8) { index in
            Result { try sweeps[index % 2].once() }
        }
        let interrupted = try results.flatMap { try $0.get().interrupted }
        try require(interrupted == [id], "concurrent sweeps reported \(interrupted)")
        let stored = try require(try servers.handles[0].actions.load(id), "the action is gone")
        try require(stored.transitions.filter { $0.to == .interrupted }.count == 1, "transitions: \(stored.transitions.map(\.to))")
        try require(try servers.rows(id, kind: "state", outcome: "INTERRUPTED").count == 1, "concurrent sweeps wrote several rows")
    }

    func backgroundSweep(_ servers: SharedStoreServers, _ running: inout Task<Result<ProposalReview, Error>, Never>?) async throws {
        let id = try await servers.approvedProposal()
        running = try await startHeld(servers.server(0, renewal: .seconds(3600)), id, servers)
        let runner = StoreSweep.Runner()
        let quiet = Logger(label: "sweep") { _ in SwiftLogNoOpLogHandler() }
        runner.start(StoreSweep(workflow: servers.server(1, renewal: .seconds(3600)), interval: .milliseconds(5)), logger: quiet)
        servers.advance(61)
        let interrupted = try await SharedStoreServers.poll { try servers.handles[1].actions.load(id)?.state == .interrupted }
        await runner.stop()
        try require(interrupted, "the background sweep did not interrupt the run within 10 s")
        try require(!runner.isRunning, "the sweep still runs after stop()")
    }

    // MARK: - Helpers

    /// Starts `workflow`'s execute of `id` and returns once its request is held at the host (the run claimed).
    func startHeld(_ workflow: ActionWorkflow, _ id: String, _ servers: SharedStoreServers) async throws
        -> Task<Result<ProposalReview, Error>, Never> {
        let before = servers.remote.runnerRequests
        let task = Task { () -> Result<ProposalReview, Error> in
            do { return .success(try await workflow.execute(id)) } catch { return .failure(error) }
        }
        let held = await SharedStoreServers.poll { servers.remote.runnerRequests > before }
        try require(held, "the execution never reached the host")
        return task
    }

    func failure(_ message: String) -> StoreConformance.Failure {
        StoreConformance.Failure(description: "\(backend) store: \(message)")
    }

    func require(_ condition: Bool, _ message: @autoclosure () throws -> String) throws {
        guard condition else { throw failure(try message()) }
    }

    func require<T>(_ value: T?, _ message: @autoclosure () throws -> String) throws -> T {
        guard let value else { throw failure(try message()) }
        return value
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import InfraApp
import InfraDomain

/// The store conformance suite: what every implementation of InfraApp's ``ActionStore`` and ``AuditSink``
/// ports must do, written only against the ports (their doc comments are the contract). SQLite runs it from
/// `Tests/InfraStoreSQLiteTests/SQLiteStoreConformanceTests.swift`; the in-memory fake the use-case tests run
/// on (``InMemoryStore``) runs it from `Tests/InfraAppTests/InMemoryStoreConformanceTests.swift`, which is
/// what makes those tests worth anything.
///
/// ## How another backend (PostgreSQL next) joins
/// One test file with a factory, nothing else:
/// ```swift
/// @Suite struct PostgresStoreConformanceTests {
///     static let suite = StoreConformance(backend: "PostgreSQL", make: {
///         let database = try TestPostgres.freshDatabase()           // an empty database of its own
///         let open = { StoreConformance.Opened(actions: PostgresActionStore(database), audit: PostgresAuditLog(database)) }
///         return .init(opened: open(), reopen: open, location: database.url, remove: { database.drop() })
///     }, crossProcess: .init { environment, stdout, stderr in
///         // This test binary again, running only secondProcess() below, with `environment` added to ours.
///         try ChildProcess.start(Bundle.main.executablePath!, ["--testing-library", "swift-testing", "--filter",
///                                "PostgresStoreConformanceTests/secondProcess"], environment: ProcessInfo.processInfo.environment
///                                .merging(environment) { $1 }, stdout: stdout, stderr: stderr)
///     }, schema: .init(markNewer: { ... }, snapshot: { ... }))
///
///     @Test(arguments: suite.properties)
///     func conforms(_ property: StoreConformance.Property) async throws { try await Self.suite.check(property) }
///
///     @Test(.enabled(if: StoreConformance.isChild))
///     func secondProcess() async throws {
///         let url = ProcessInfo.processInfo.environment[StoreConformance.locationVariable]!
///         try await StoreConformance.runChild(/* both ports opened on */ url)
///     }
/// }
/// ```
/// `reopen` must give an independent handle on the same store (another connection pool or client), so the
/// concurrency properties race two handles, not one. A backend shared by several processes passes
/// `crossProcess`, and claims then race from two processes too; one with a versioned schema passes
/// `schema`. Properties a backend has no hook for are left out of ``properties``.
///
/// A property that does not hold throws ``Failure`` naming the backend and what was seen, so the suite
/// needs no test framework of its own.
public struct StoreConformance: Sendable {
    /// Both ports on one store.
    public struct Opened: Sendable {
        public var actions: any ActionStore
        public var audit: any AuditSink

        /// Both ports (they must share one store: a change's audit rows join the sink's chain).
        public init(actions: any ActionStore, audit: any AuditSink) {
            self.actions = actions
            self.audit = audit
        }
    }

    /// One fresh, empty store.
    public struct Fresh: Sendable {
        public var opened: Opened
        /// Opens another, independent handle on the same store (the same object where a backend has only one).
        public var reopen: @Sendable () throws -> Opened
        /// Where another process finds this store (a file path, a URL); nil when none can.
        public var location: String?
        /// Removes the store.
        public var remove: @Sendable () -> Void

        /// Creates the description of a fresh store.
        public init(opened: Opened, reopen: @escaping @Sendable () throws -> Opened, location: String? = nil,
                    remove: @escaping @Sendable () -> Void = {}) {
            self.opened = opened
            self.reopen = reopen
            self.location = location
            self.remove = remove
        }
    }

    /// How a backend shared across processes starts a second one.
    public struct CrossProcess: Sendable {
        /// Starts a process with `environment` added to its own, whose output goes to the two files; that process
        /// opens the store at ``StoreConformance/locationVariable`` and calls ``StoreConformance/runChild(_:environment:)``.
        public var start: @Sendable (_ environment: [String: String], _ stdout: String, _ stderr: String) throws -> ChildProcess

        /// Creates the hook.
        public init(start: @escaping @Sendable (_ environment: [String: String], _ stdout: String, _ stderr: String) throws -> ChildProcess) {
            self.start = start
        }
    }

    /// How a backend with a versioned schema is made to look written by a newer release.
    public struct SchemaVersioning: Sendable {
        /// Marks the store as a newer release would (after which ``Fresh/reopen`` must refuse it, saying "newer").
        public var markNewer: @Sendable (Fresh) throws -> Void
        /// What the backend keeps besides the rows (schema, version markers), to show that a refused open changed nothing.
        public var snapshot: @Sendable (Fresh) throws -> [String]

        /// Creates the hook.
        public init(markNewer: @escaping @Sendable (Fresh) throws -> Void, snapshot: @escaping @Sendable (Fresh) throws -> [String]) {
            self.markNewer = markNewer
            self.snapshot = snapshot
        }
    }

    /// One property of the contract.
    public enum Property: String, CaseIterable, Sendable, CustomStringConvertible {
        case roundTrip = "insert, load, ids and list return what was written; a duplicate insert writes nothing"
        case exactlyOnce = "concurrent claims of one APPROVED proposal through two handles: exactly one wins; concurrent updates lose none"
        case exactlyOnceAcrossProcesses = "the same from two processes"
        case staleTransition = "a change whose transition `from` is no longer the stored state is refused, and nothing of it is written"
        case throwingDecide = "a decide that throws writes nothing and its error comes back; one that returns nil writes nothing"
        case wholeChange = "a change is written whole (decision, approval window, execution claimed then finished, transition, rows in order)"
        case executionLease = "a claim's lease is stored; a renewal (the execution alone) moves it, no transition, no row; the result keeps it"
        case expiryIdempotent = "expiry is written once, however often and however concurrently it is decided"
        case auditChain = "the audit log is one append-only chain in order (sink appends and changes' rows), filtered as AuditFilter says"
        case newerSchema = "a store written by a newer release is refused when opened, and nothing is changed"

        public var description: String { rawValue }
    }

    /// A property that does not hold.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The backend's name, in failures.
    public let backend: String
    let make: @Sendable () throws -> Fresh
    let crossProcess: CrossProcess?
    let schema: SchemaVersioning?

    /// The suite for one backend: `make` gives a fresh, empty store each time.
    public init(backend: String, make: @escaping @Sendable () throws -> Fresh, crossProcess: CrossProcess? = nil,
                schema: SchemaVersioning? = nil) {
        self.backend = backend
        self.make = make
        self.crossProcess = crossProcess
        self.schema = schema
    }

    /// The properties this backend is checked for (those it has the hooks of).
    public var properties: [Property] {
        Property.allCases.filter {
            switch $0 {
            case .exactlyOnceAcrossProcesses: crossProcess != nil
            case .newerSchema: schema != nil
            default: true
            }
        }
    }

    /// Checks one property on a fresh store, removed afterwards.
    public func check(_ property: Property) async throws {
        let fresh = try make()
        defer { fresh.remove() }
        switch property {
        case .roundTrip: try roundTrip(fresh)
        case .exactlyOnce: try await exactlyOnce(fresh)
        case .exactlyOnceAcrossProcesses: try await exactlyOnceAcrossProcesses(fresh)
        case .staleTransition: try staleTransition(fresh)
        case .throwingDecide: try throwingDecide(fresh)
        case .wholeChange: try await wholeChange(fresh)
        case .executionLease: try executionLease(fresh)
        case .expiryIdempotent: try await expiryIdempotent(fresh)
        case .auditChain: try await auditChain(fresh)
        case .newerSchema: try newerSchema(fresh)
        }
    }

    // MARK: - Properties

    func roundTrip(_ fresh: Fresh) throws {
        let store = fresh.opened.actions, audit = fresh.opened.audit
        let first = Self.proposal(1, prefix: "aaaa"), second = Self.proposal(2, prefix: "aaaa"), third = Self.proposal(3, prefix: "bbbb")
        for record in [first, second, third] {
            try store.insert(record, audit: [Self.row("state", outcome: "PROPOSED", proposalID: record.id, at: record.createdAt)])
        }
        try require(try store.load(first.id) == first, "load gives back the inserted proposal: \(String(describing: try store.load(first.id)))")
        try require(try store.load(Self.id(9, prefix: "cccc")) == nil, "load of an unknown id is nil")
        try require(try store.ids(withPrefix: "aaaa", limit: 5) == [first.id, second.id], "ids(withPrefix:) in order")
        try require(try store.ids(withPrefix: "aaaa", limit: 1) == [first.id], "ids(withPrefix:) at most limit")
        try require(try store.ids(withPrefix: third.id, limit: 5) == [third.id], "a whole id is its own prefix")
        try require(try store.ids(withPrefix: "cccc", limit: 5).isEmpty, "no id for an unmatched prefix")
        try require(try store.list(states: []).map(\.id) == [third.id, second.id, first.id], "list: every state, newest first")
        try approve(store, second.id)
        try require(try store.list(states: [.approved]).map(\.id) == [second.id], "list filters by state")
        try require(try store.list(states: [.proposed, .approved]).map(\.id) == [third.id, second.id, first.id], "list by several states")
        try require(try store.list(states: [.executing]).isEmpty, "list of a state nothing is in")
        let counts = try store.stateCounts().filter { $0.value != 0 }
        try require(counts == [.proposed: 2, .approved: 1], "stateCounts: as stored, by state: \(counts)")
        do {
            _ = try store.update(Self.id(9, prefix: "cccc")) { _, _ in nil }
            throw failure("update of an unknown id did not throw")
        } catch let refusal as Refusal {
            try require(refusal.code == .notFound, "update of an unknown id: \(refusal.code), not not-found")
        }
        let rows = try audit.records(AuditFilter())
        try require(rows.map(\.proposalID) == [first.id, second.id, third.id, second.id], "insert's rows join the chain: \(rows.map(\.proposalID))")
        // A second insert of an id is refused, its rows with it.
        var again = first
        again.rationale = "another rationale"
        let refused = (try? store.insert(again, audit: [Self.row("state", outcome: "PROPOSED", proposalID: first.id)])) == nil
        try require(refused, "a second proposal with one id was inserted")
        try require(try store.load(first.id) == first, "the refused insert changed the stored proposal")
        try require(try audit.records(AuditFilter()) == rows, "the refused insert wrote audit rows")
    }

    func exactlyOnce(_ fresh: Fresh) async throws {
        let handles = [fresh.opened, try fresh.reopen()]
        let proposal = Self.proposal(1)
        try handles[0].actions.insert(proposal, audit: [])
        try approve(handles[0].actions, proposal.id)
        let claims = 32
        let won = await Self.concurrently(claims) { index in
            (try? Self.claim(handles[index % 2].actions, proposal.id, token: "claim-\(index)")) != nil
        }
        let winners = won.indices.filter { won[$0] }
        try require(winners.count == 1, "\(winners.count) of \(claims) concurrent claims won")
        let stored = try require(try handles[1].actions.load(proposal.id), "the claimed proposal is gone")
        try require(stored.state == .executing && stored.transitions.filter { $0.to == .executing }.count == 1,
                    "one EXECUTING transition: \(stored.transitions.map(\.to))")
        try require(stored.execution?.owner.start == "claim-\(winners[0])", "the execution is the winner's: \(String(describing: stored.execution))")
        let claimed = try handles[0].audit.records(Self.filter(proposalID: proposal.id, outcome: "EXECUTING"))
        try require(claimed.count == 1, "\(claimed.count) EXECUTING audit rows")

        // Updates that each add what they saw: serialized, none is lost or decided on a stale record.
        let counter = Self.proposal(2)
        try handles[0].actions.insert(counter, audit: [])
        let updates = 24
        let counted = await Self.concurrently(updates) { index in
            (try? Self.count(handles[index % 2].actions, counter.id)) != nil
        }
        try require(counted.allSatisfy { $0 }, "\(counted.filter { !$0 }.count) of \(updates) concurrent updates failed")
        try requireCounted(try handles[1].actions.load(counter.id), updates)
        try require(AuditChain.verify(try handles[0].audit.records(AuditFilter())) == nil, "the chain breaks after concurrent updates")
    }

    func exactlyOnceAcrossProcesses(_ fresh: Fresh) async throws {
        guard let crossProcess, let location = fresh.location else { throw failure("no second process can reach this store") }
        let store = fresh.opened.actions
        let ids = (1...8).map { Self.id($0) }
        for (index, id) in ids.enumerated() {
            try store.insert(Self.proposal(index + 1), audit: [])
            try approve(store, id)
        }
        let counter = Self.proposal(20)
        try store.insert(counter, audit: [])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let claimsPerID = 6, counts = 12
        let environment = [Self.childVariable: "1", Self.locationVariable: location, "STORE_CONFORMANCE_IDS": ids.joined(separator: ","),
                           "STORE_CONFORMANCE_COUNTER": counter.id, "STORE_CONFORMANCE_CLAIMS": String(claimsPerID),
                           "STORE_CONFORMANCE_COUNTS": String(counts), "STORE_CONFORMANCE_FOLDER": folder]
        let child = try crossProcess.start(environment, folder + "/stdout", folder + "/stderr")
        func childOutput() -> String {
            ["stdout", "stderr"].map { (try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8)) ?? "" }.joined(separator: "\n").suffix(3000)
                .description
        }
        let ready = await Self.waitForFile(folder + "/ready", within: .seconds(120))
        guard ready else {
            kill(child.pid, SIGKILL)
            _ = await child.wait()
            throw failure("the second process never became ready: \(childOutput())")
        }
        FileManager.default.createFile(atPath: folder + "/go", contents: Data())
        let mine = await Self.claimAndCount(store, ids: ids, claimsPerID: claimsPerID, counter: counter.id, counts: counts, tag: "parent")
        let status = await child.wait()
        try require(status == 0, "the second process exited \(status): \(childOutput())")
        let result = try String(contentsOfFile: folder + "/result", encoding: .utf8).split(separator: "\n").map(String.init)
        let theirs = Set(result.filter { $0.hasPrefix("won ") }.map { String($0.dropFirst(4)) })
        let theirCounts = result.first { $0.hasPrefix("counted ") }.flatMap { Int($0.dropFirst(8)) } ?? -1
        for id in ids {
            let wins = (mine.won.contains(id) ? 1 : 0) + (theirs.contains(id) ? 1 : 0)
            try require(wins == 1, "proposal \(id) was claimed \(wins) times across two processes")
            let stored = try require(try store.load(id), "proposal \(id) is gone")
            try require(stored.transitions.filter { $0.to == .executing }.count == 1, "\(id): \(stored.transitions.map(\.to))")
            try require(stored.execution?.owner.start.hasPrefix(mine.won.contains(id) ? "parent-" : "child-") == true,
                        "\(id)'s execution is not its winner's: \(String(describing: stored.execution))")
        }
        try require(mine.counted == counts && theirCounts == counts, "updates failed: \(mine.counted) here, \(theirCounts) there, of \(counts) each")
        try requireCounted(try store.load(counter.id), 2 * counts)
        try require(AuditChain.verify(try fresh.opened.audit.records(AuditFilter())) == nil, "the chain breaks after two processes wrote it")
    }

    func staleTransition(_ fresh: Fresh) throws {
        let store = fresh.opened.actions, audit = fresh.opened.audit
        let proposal = Self.proposal(1)
        try store.insert(proposal, audit: [Self.row("state", outcome: "PROPOSED", proposalID: proposal.id)])
        try approve(store, proposal.id)
        let before = try store.load(proposal.id), rows = try audit.records(AuditFilter())
        // Decided on what an earlier read showed (PROPOSED), written after the proposal became APPROVED.
        let at = Self.base + 60
        let stale = ProposalChange(
            transition: .init(from: .proposed, to: .rejected, actor: "os:bob", reason: "stale", at: at),
            decision: .init(approver: "bob", approves: false, reason: "stale", digest: proposal.digest, at: at, osAccount: "bob"),
            approval: (at, at + 600),
            execution: .init(executor: "mcp:svc", owner: .init(host: "h", pid: 1, start: "s"), startedAt: at),
            audit: [Self.row("approval", outcome: "rejected", proposalID: proposal.id), Self.row("state", outcome: "REJECTED", proposalID: proposal.id)])
        for change in [stale, ProposalChange(transition: .init(from: nil, to: .proposed, actor: "x", reason: "no from", at: at),
                                             audit: [Self.row("state", outcome: "PROPOSED", proposalID: proposal.id)])] {
            do {
                _ = try store.update(proposal.id) { _, _ in change }
                throw failure("a change from \(change.transition?.from?.rawValue ?? "nil") was written on an APPROVED proposal")
            } catch let refusal as Refusal {
                try require(refusal.code == .wrongState, "refused as \(refusal.code), not wrong-state")
            }
            try require(try store.load(proposal.id) == before, "part of a refused change was written: \(String(describing: try store.load(proposal.id)))")
            try require(try audit.records(AuditFilter()) == rows, "a refused change's audit rows were written")
        }
    }

    func throwingDecide(_ fresh: Fresh) throws {
        let store = fresh.opened.actions, audit = fresh.opened.audit
        let proposal = Self.proposal(1)
        try store.insert(proposal, audit: [Self.row("state", outcome: "PROPOSED", proposalID: proposal.id)])
        struct Boom: Error, Equatable { var marker: String }
        do {
            _ = try store.update(proposal.id) { _, _ in throw Boom(marker: "decided no") }
            throw failure("a decide that threw did not make update throw")
        } catch let boom as Boom {
            try require(boom.marker == "decided no", "update threw another error than decide's")
        }
        try require(try store.load(proposal.id) == proposal, "a decide that threw changed the proposal")
        try require(try audit.records(AuditFilter()).count == 1, "a decide that threw wrote audit rows")
        let unchanged = try store.update(proposal.id) { _, _ in nil }
        try require(unchanged.record == proposal, "a nil change returned another record")
        try require(unchanged.head == (try audit.head()) && unchanged.head?.seq == 1, "a nil change returned another head")
        try require(try store.load(proposal.id) == proposal && (try audit.records(AuditFilter())).count == 1, "a nil change wrote something")
    }

    func wholeChange(_ fresh: Fresh) async throws {
        let store = fresh.opened.actions, audit = fresh.opened.audit
        let proposal = Self.proposal(1)
        try store.insert(proposal, audit: [Self.row("state", outcome: "PROPOSED", proposalID: proposal.id)])
        try await audit.append([Self.row("tool", outcome: "ok"), Self.row("tool", outcome: "ok")])
        let before = try audit.records(AuditFilter())
        // Inside decide: the proposal as stored, the head, and every row's hash.
        var seen: (ProposalRecord?, AuditChain.Anchor?, [String?]) = (nil, nil, [])
        _ = try store.update(proposal.id) { record, chain in
            seen = (record, chain.head, (0...4).map { chain.hashAt(Int64($0)) })
            return nil
        }
        try require(seen.0 == proposal, "decide did not see the stored proposal")
        try require(seen.1 == (try audit.head()), "decide's chain view has another head: \(String(describing: seen.1))")
        try require(seen.2 == [nil] + before.map(\.hash) + [nil], "decide's hashAt does not answer the chain's hashes: \(seen.2)")

        let approvedAt = Self.base + 60
        let decision = ProposalRecord.Decision(approver: "alice@example.org", approves: true, reason: "ok", digest: proposal.digest, at: approvedAt,
                                               osAccount: "alice", signed: SignedApproval(statement: "statement\n", signature: "signature\n"))
        let approval = ProposalChange(
            transition: .init(from: .proposed, to: .approved, actor: "key:alice@example.org", reason: "1 of 1", at: approvedAt),
            decision: decision, approval: (approvedAt, approvedAt + 900),
            audit: [Self.row("approval", outcome: "approved", proposalID: proposal.id), Self.row("state", outcome: "APPROVED", proposalID: proposal.id)])
        let approved = try store.update(proposal.id) { _, _ in approval }
        let stored = try require(try store.load(proposal.id), "the approved proposal is gone")
        try require(approved.record == stored, "update returned another record than it stored")
        try require(stored.state == .approved && stored.decisions == [decision] && stored.approvedAt == approvedAt
                    && stored.approvalExpiresAt == approvedAt + 900 && stored.transitions == proposal.transitions + [approval.transition!],
                    "the approval was not written whole: \(stored)")
        let rows = try audit.records(AuditFilter())
        try require(Array(rows.prefix(before.count)) == before, "rows before the change were changed")
        try require(rows.dropFirst(before.count).map(\.kind) == ["approval", "state"], "the change's rows, in order: \(rows.map(\.kind))")
        try require(approved.head == AuditChain.Anchor(seq: rows.last!.seq, hash: rows.last!.hash), "update returned another head")

        let owner = ExecutionOwner(host: "server", pid: 42, start: "77")
        let startedAt = Self.base + 120
        _ = try store.update(proposal.id) { _, _ in
            ProposalChange(transition: .init(from: .approved, to: .executing, actor: "mcp:svc", reason: "claimed", at: startedAt),
                           execution: .init(executor: "mcp:svc", owner: owner, startedAt: startedAt),
                           audit: [Self.row("state", outcome: "EXECUTING", proposalID: proposal.id)])
        }
        try require(try store.load(proposal.id)?.execution == .init(executor: "mcp:svc", owner: owner, startedAt: startedAt),
                    "the claimed execution: \(String(describing: try store.load(proposal.id)?.execution))")
        // The result replaces the result fields only: who claimed it, and when, stay.
        let finishedAt = Self.base + 180
        _ = try store.update(proposal.id) { _, _ in
            ProposalChange(transition: .init(from: .executing, to: .completed, actor: "mcp:svc", reason: "exit 0", at: finishedAt),
                           execution: .init(executor: "someone else", owner: .init(host: "other", pid: 1, start: "1"), startedAt: finishedAt,
                                            finishedAt: finishedAt, exitCode: 0, stdout: "out", stderr: "err", verification: "active", verified: "yes"),
                           audit: [Self.row("state", outcome: "COMPLETED", proposalID: proposal.id)])
        }
        let done = try require(try store.load(proposal.id), "the completed proposal is gone")
        try require(done.execution == .init(executor: "mcp:svc", owner: owner, startedAt: startedAt, finishedAt: finishedAt, exitCode: 0,
                                            stdout: "out", stderr: "err", verification: "active", verified: "yes"),
                    "the finished execution: \(String(describing: done.execution))")
        try require(done.state == .completed && done.transitions.map(\.to) == [.proposed, .approved, .executing, .completed],
                    "transitions: \(done.transitions.map(\.to))")
        try require(AuditChain.verify(try audit.records(AuditFilter())) == nil, "the chain does not verify")
    }

    func executionLease(_ fresh: Fresh) throws {
        let handles = [fresh.opened, try fresh.reopen()]
        let store = handles[0].actions
        let proposal = Self.proposal(1)
        try store.insert(proposal, audit: [])
        try approve(store, proposal.id)
        let startedAt = Self.base + 120
        let owner = ExecutionOwner(host: "server-a", pid: 42, start: "77", leaseUntil: startedAt + 60)
        _ = try store.update(proposal.id) { _, _ in
            ProposalChange(transition: .init(from: .approved, to: .executing, actor: "mcp:svc", reason: "claimed", at: startedAt),
                           execution: .init(executor: "mcp:svc", owner: owner, startedAt: startedAt),
                           audit: [Self.row("state", outcome: "EXECUTING", proposalID: proposal.id)])
        }
        let claimed = try require(try handles[1].actions.load(proposal.id), "the claimed proposal is gone")
        try require(claimed.execution?.owner == owner, "the claim's lease deadline was not stored: \(String(describing: claimed.execution?.owner))")
        let rows = try handles[0].audit.records(AuditFilter())
        var renewed = try require(claimed.execution, "no execution")
        renewed.owner.leaseUntil = startedAt + 100
        _ = try handles[1].actions.update(proposal.id) { _, _ in ProposalChange(execution: renewed) }
        let held = try require(try store.load(proposal.id), "the renewed proposal is gone")
        try require(held.execution == renewed, "the renewal was not stored: \(String(describing: held.execution))")
        try require(held.state == .executing && held.transitions == claimed.transitions, "a renewal changed the state: \(held.transitions.map(\.to))")
        try require(try handles[0].audit.records(AuditFilter()) == rows, "a renewal wrote audit rows")
        var result = renewed
        (result.finishedAt, result.exitCode, result.verified) = (startedAt + 90, 0, "yes")
        _ = try store.update(proposal.id) { _, _ in
            ProposalChange(transition: .init(from: .executing, to: .completed, actor: "mcp:svc", reason: "exit 0", at: startedAt + 90),
                           execution: result, audit: [Self.row("state", outcome: "COMPLETED", proposalID: proposal.id)])
        }
        let done = try require(try handles[1].actions.load(proposal.id), "the completed proposal is gone")
        try require(done.execution?.owner.leaseUntil == startedAt + 100 && done.execution?.exitCode == 0,
                    "the result lost the lease deadline: \(String(describing: done.execution))")
    }

    func expiryIdempotent(_ fresh: Fresh) async throws {
        let store = fresh.opened.actions, audit = fresh.opened.audit
        let pending = Self.proposal(1), approved = Self.proposal(2)
        try store.insert(pending, audit: [])
        try store.insert(approved, audit: [])
        try approve(store, approved.id, until: Self.base + 900)
        let later = Self.base + 4000
        for (proposal, reason) in [(pending, "not approved in time"), (approved, "approved but not executed in time")] {
            let first = try store.update(proposal.id) { record, _ in ProposalRules.expiry(of: record, now: later) }
            try require(first.record.state == .expired && first.record.transitions.last?.reason == reason,
                        "\(proposal.id) did not expire: \(first.record.state)")
            let again = try store.update(proposal.id) { record, _ in ProposalRules.expiry(of: record, now: later + 1) }
            try require(again.record == first.record && again.head == first.head, "a second expiry wrote something")
        }
        let raced = Self.proposal(3)
        let handles = [fresh.opened, try fresh.reopen()]
        try store.insert(raced, audit: [])
        let done = await Self.concurrently(12) { index in
            (try? handles[index % 2].actions.update(raced.id) { record, _ in ProposalRules.expiry(of: record, now: later) }) != nil
        }
        try require(done.allSatisfy { $0 }, "a concurrent expiry failed")
        let stored = try require(try store.load(raced.id), "the expired proposal is gone")
        try require(stored.transitions.filter { $0.to == .expired }.count == 1, "concurrent expiries wrote \(stored.transitions.map(\.to))")
        try require(try audit.records(Self.filter(proposalID: raced.id, outcome: "EXPIRED")).count == 1, "concurrent expiries wrote several rows")
    }

    func auditChain(_ fresh: Fresh) async throws {
        let store = fresh.opened.actions, audit = fresh.opened.audit
        try require(try audit.head() == nil && (try audit.records(AuditFilter())).isEmpty, "a fresh store's log is not empty")
        let given = "2027-01-15T08:00:00.000Z"
        let before = Date()
        try await audit.append([AuditChain.Record(actor: "mcp:svc", kind: "server", host: "t1", outcome: "first", at: given), Self.row("tool", outcome: "second"), Self.row("tool", outcome: "third")])
        let after = Date()
        var rows = try audit.records(AuditFilter())
        try require(rows.map(\.seq) == [1, 2, 3] && rows.map(\.outcome) == ["first", "second", "third"], "a batch is appended in order")
        try require(rows[0].at == given, "a row's own time was replaced: \(rows[0].at)")
        let stamped = rows.dropFirst().compactMap { AuditChain.date($0.at) }
        try require(stamped.count == 2 && stamped.allSatisfy { $0 >= before.addingTimeInterval(-1) && $0 <= after.addingTimeInterval(1) },
                    "rows without a time get the commit's: \(rows.map(\.at))")
        try require(try audit.head() == AuditChain.Anchor(seq: 3, hash: rows[2].hash), "head is not the last row")

        // Appends from many tasks, batches among them, and a change's rows: one chain, each batch together.
        let proposal = Self.proposal(1)
        try store.insert(proposal, audit: [Self.row("state", outcome: "PROPOSED", proposalID: proposal.id)])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    if index % 5 == 0 {
                        try await audit.append((0..<3).map { Self.row("tool", outcome: "batch-\(index)-\($0)") })
                    } else {
                        try await audit.append([Self.row("tool", outcome: "single-\(index)")])
                    }
                }
            }
            group.addTask { try self.approve(store, proposal.id) }
            try await group.waitForAll()
        }
        rows = try audit.records(AuditFilter())
        try require(rows.count == 3 + 1 + 16 + 12 + 1, "\(rows.count) rows after the concurrent appends")
        try require(rows.map(\.seq) == Array(1...Int64(rows.count)), "sequence numbers are not 1...n")
        if let broken = AuditChain.verify(rows) { throw failure("the chain does not verify: \(broken)") }
        for index in stride(from: 0, to: 20, by: 5) {
            let positions = rows.indices.filter { rows[$0].outcome.hasPrefix("batch-\(index)-") }
            try require(positions.count == 3 && positions.last! - positions.first! == 2
                        && positions.map { rows[$0].outcome } == (0..<3).map { "batch-\(index)-\($0)" }, "batch \(index) was split or reordered")
        }

        // Filters: what AuditFilter.matches says, oldest first; a limit keeps the last rows.
        let times = ["2027-01-15T08:00:00.000Z", "2027-01-15T08:01:00.000Z", "2027-01-15T09:00:00.000Z", "2027-01-15T10:00:00.000Z"]
        try await audit.append([
            AuditChain.Record(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok", detail: ["tool": "get_system_info"], at: times[0]),
            AuditChain.Record(actor: "mcp:svc", kind: "ssh", host: "t2", outcome: "unreachable", detail: ["error": "timeout"], at: times[1]),
            AuditChain.Record(actor: "os:alice", kind: "approval", host: "t1", action: "restart_unbound", proposalID: "p1", outcome: "approved", at: times[2]),
            AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1", action: "restart_unbound", proposalID: "p1", outcome: "COMPLETED", at: times[3]),
        ])
        let all = try audit.records(AuditFilter())
        var filters: [AuditFilter] = []
        func add(_ configure: (inout AuditFilter) -> Void) {
            var filter = AuditFilter()
            configure(&filter)
            filters.append(filter)
        }
        add { $0.host = "t1" }
        add { $0.host = "t2" }
        add { $0.action = "restart_unbound" }
        add { $0.actor = "os:alice" }
        add { $0.kind = "ssh" }
        add { $0.outcome = "COMPLETED" }
        add { $0.proposalID = "p1"; $0.actor = "mcp:svc" }
        add { $0.since = times[1]; $0.until = times[2] }
        add { $0.afterSeq = Int64(all.count - 2) }
        add { $0.limit = 2 }
        add { $0.limit = 0 }
        add { $0.host = "t1"; $0.limit = 2 }
        add { $0.kind = "tool"; $0.afterSeq = 10; $0.limit = 3 }
        add { $0.beforeSeq = 4 }
        add { $0.host = "t1"; $0.beforeSeq = Int64(all.count); $0.limit = 2 }
        add { $0.host = "nowhere" }
        for filter in filters {
            var expected = all.filter(filter.matches)
            if let limit = filter.limit { expected = Array(expected.suffix(max(0, limit))) }
            let found = try audit.records(filter)
            try require(found == expected, "records(\(filter)) gave seqs \(found.map(\.seq)), not \(expected.map(\.seq))")
        }
    }

    func newerSchema(_ fresh: Fresh) throws {
        guard let schema else { throw failure("no schema hook") }
        let store = fresh.opened.actions, audit = fresh.opened.audit
        let proposal = Self.proposal(1)
        try store.insert(proposal, audit: [Self.row("state", outcome: "PROPOSED", proposalID: proposal.id)])
        try schema.markNewer(fresh)
        let rows = try audit.records(AuditFilter()), kept = try schema.snapshot(fresh)
        do {
            _ = try fresh.reopen()
            throw failure("a store written by a newer release was opened")
        } catch let error where !(error is Failure) {
            try require("\(error)".contains("newer"), "the refusal does not say the store is newer: \(error)")
        }
        try require(try schema.snapshot(fresh) == kept, "the refused open changed the store: \(try schema.snapshot(fresh))")
        try require(try store.load(proposal.id) == proposal && (try audit.records(AuditFilter())) == rows, "the refused open changed the rows")
    }

    // MARK: - The second process

    /// Set in the second process's environment (its test runs only there).
    public static let childVariable = "STORE_CONFORMANCE_CHILD"
    /// Where the second process finds the store.
    public static let locationVariable = "STORE_CONFORMANCE_LOCATION"

    /// True in the second process that ``exactlyOnceAcrossProcesses`` starts.
    public static var isChild: Bool { ProcessInfo.processInfo.environment[childVariable] == "1" }

    /// The second process's part: says it is ready, waits for the go, then claims and counts as the first
    /// process does at the same time, and writes what it won.
    public static func runChild(_ opened: Opened, environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        guard let folder = environment["STORE_CONFORMANCE_FOLDER"], let ids = environment["STORE_CONFORMANCE_IDS"],
              let counter = environment["STORE_CONFORMANCE_COUNTER"], let claims = environment["STORE_CONFORMANCE_CLAIMS"].flatMap(Int.init),
              let counts = environment["STORE_CONFORMANCE_COUNTS"].flatMap(Int.init) else {
            throw Failure(description: "the second process's environment is incomplete")
        }
        FileManager.default.createFile(atPath: folder + "/ready", contents: Data())
        guard await waitForFile(folder + "/go", within: .seconds(60)) else { throw Failure(description: "no go from the first process") }
        let done = await claimAndCount(opened.actions, ids: ids.split(separator: ",").map(String.init), claimsPerID: claims, counter: counter,
                                       counts: counts, tag: "child")
        let text = done.won.sorted().map { "won \($0)\n" }.joined() + "counted \(done.counted)\n"
        try text.write(toFile: folder + "/result.part", atomically: false, encoding: .utf8)
        try FileManager.default.moveItem(atPath: folder + "/result.part", toPath: folder + "/result")
    }

    /// Claims every id `claimsPerID` times and adds `counts` decisions to `counter`, all at once from threads.
    static func claimAndCount(_ store: any ActionStore, ids: [String], claimsPerID: Int, counter: String, counts: Int,
                              tag: String) async -> (won: Set<String>, counted: Int) {
        let claims = ids.count * claimsPerID
        let outcomes = await concurrently(claims + counts) { index -> (String?, Bool) in
            if index < claims {
                let id = ids[index % ids.count]
                return ((try? claim(store, id, token: "\(tag)-\(index)")) != nil ? id : nil, false)
            }
            return (nil, (try? count(store, counter)) != nil)
        }
        return (Set(outcomes.compactMap(\.0)), outcomes.filter(\.1).count)
    }

    // MARK: - Helpers

    static let base = Date(timeIntervalSince1970: 1_800_000_000)

    static func id(_ number: Int, prefix: String = "0000") -> String {
        prefix + String(format: "%04x-0000-4000-8000-%012x", number, number)
    }

    /// A PROPOSED proposal, created `number` seconds after ``base``, expiring an hour later.
    static func proposal(_ number: Int, prefix: String = "0000") -> ProposalRecord {
        let created = base + TimeInterval(number)
        let parameters = ["unit": "nginx.service"]
        return ProposalRecord(
            id: id(number, prefix: prefix), action: "restart_service", host: "t1", parameters: parameters, rationale: "nginx is down on t1",
            impact: "MEDIUM", catalogueVersion: "sha256:" + String(repeating: "c", count: 64),
            digest: ApprovalDigest.compute(action: "restart_service", host: "t1", parameters: parameters,
                                           catalogueVersion: "sha256:" + String(repeating: "c", count: 64)),
            command: ["systemctl", "restart", "--", "nginx.service"], verification: ["systemctl", "is-active", "--quiet", "--", "nginx.service"],
            proposer: "svc", client: "conformance", state: .proposed, requiredApprovals: 1, createdAt: created, expiresAt: created + 3600,
            transitions: [.init(from: nil, to: .proposed, actor: "mcp:svc", reason: "nginx is down on t1", at: created)])
    }

    static func row(_ kind: String, outcome: String, proposalID: String = "", at date: Date? = nil) -> AuditChain.Record {
        AuditChain.Record(actor: "mcp:svc", kind: kind, host: "t1", proposalID: proposalID, outcome: outcome, detail: ["n": outcome],
                          at: date.map(AuditChain.timestamp) ?? "")
    }

    static func filter(proposalID: String, outcome: String) -> AuditFilter {
        var filter = AuditFilter()
        filter.proposalID = proposalID
        filter.outcome = outcome
        return filter
    }

    /// PROPOSED → APPROVED, with one decision and an approval window.
    func approve(_ store: any ActionStore, _ id: String, until expiry: Date? = nil) throws {
        _ = try store.update(id) { record, _ in
            let at = record.createdAt + 30
            return ProposalChange(transition: .init(from: record.state, to: .approved, actor: "key:alice@example.org", reason: "1 of 1", at: at),
                                  decision: .init(approver: "alice@example.org", approves: true, reason: "", digest: record.digest, at: at),
                                  approval: (at, expiry ?? at + 900),
                                  audit: [Self.row("state", outcome: "APPROVED", proposalID: id, at: at)])
        }
    }

    /// The claim as a use case decides it: APPROVED → EXECUTING with this claimant's execution, or refused.
    static func claim(_ store: any ActionStore, _ id: String, token: String) throws {
        _ = try store.update(id) { record, _ in
            guard record.state == .approved else { throw Refusal(.wrongState, "cannot execute: the action is \(record.state.rawValue)") }
            let at = record.createdAt + 60
            return ProposalChange(transition: .init(from: .approved, to: .executing, actor: "mcp:svc", reason: "claimed by \(token)", at: at),
                                  execution: .init(executor: "mcp:svc", owner: .init(host: "conformance", pid: Int(getpid()), start: token), startedAt: at),
                                  audit: [Self.row("state", outcome: "EXECUTING", proposalID: id, at: at)])
        }
    }

    /// An update that adds a decision named after how many it saw: a lost or stale update shows as a gap or a repeat.
    static func count(_ store: any ActionStore, _ id: String) throws {
        _ = try store.update(id) { record, _ in
            let name = "n\(record.decisions.count)"
            return ProposalChange(decision: .init(approver: name, approves: false, reason: "count", digest: record.digest, at: record.createdAt),
                                  audit: [Self.row("count", outcome: name, proposalID: id)])
        }
    }

    func requireCounted(_ record: ProposalRecord?, _ expected: Int) throws {
        let names = Set(record?.decisions.map(\.approver) ?? [])
        try require(record?.decisions.count == expected && names == Set((0..<expected).map { "n\($0)" }),
                    "\(record?.decisions.count ?? 0) decisions of \(expected) serialized updates: \(names.sorted())")
    }

    /// Runs `body` on `count` threads released together, and returns the results in index order.
    static func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) async -> [T] {
        let box = Results<T>()
        let start = DispatchSemaphore(value: 0)
        return await withCheckedContinuation { (done: CheckedContinuation<[T], Never>) in
            for index in 0..<count {
                let thread = Thread {
                    start.wait()
                    let result = body(index)
                    let finished: [T]? = box.lock.withLock {
                        box.results[index] = result
                        return box.results.count == count ? (0..<count).map { box.results[$0]! } : nil
                    }
                    if let finished { done.resume(returning: finished) }
                }
                thread.start()
            }
            for _ in 0..<count { start.signal() }
        }
    }

    /// Waits until `path` exists, polling, at most `limit`.
    static func waitForFile(_ path: String, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return FileManager.default.fileExists(atPath: path)
    }

    func failure(_ message: String) -> Failure {
        Failure(description: "\(backend) store: \(message)")
    }

    func require(_ condition: Bool, _ message: @autoclosure () throws -> String) throws {
        guard condition else { throw failure(try message()) }
    }

    func require<T>(_ value: T?, _ message: @autoclosure () throws -> String) throws -> T {
        guard let value else { throw failure(try message()) }
        return value
    }
}

/// What threads hand back, under a lock.
private final class Results<T>: @unchecked Sendable {
    let lock = NSLock()
    var results: [Int: T] = [:]
}

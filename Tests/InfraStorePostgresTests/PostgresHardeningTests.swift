import Foundation
import InfraDomain
@testable import InfraStorePostgres
import InfraTestSupport
import PostgresNIO
import Testing

/// What the database refuses beyond the grants (migration v4 and PostgresRoles), each finding of issue 21's attack
/// review turned into the behaviour that holds now: logins of the product's roles attack a store with plain SQL,
/// as a thief holding one of their passwords would, and PostgreSQL itself refuses (asserted by SQLSTATE).
@Suite("PostgreSQL store: what the database refuses beyond the grants", .enabled(if: TestPostgres.available, Comment(rawValue: TestPostgres.missingReason)))
struct PostgresHardeningTests {
    typealias Roles = PostgresRolesTests

    /// The roles' fixture with one proposal COMPLETED (claimed and finished by the server, approved by a
    /// reviewer) and one APPROVED, not claimed yet.
    struct Store {
        let fixture: Roles.Fixture
        let server: PostgresStateDatabase
        let reviewer: PostgresStateDatabase
        let auditor: PostgresStateDatabase
        let finished = Roles.proposal("0000000d-0000-4000-8000-00000000000d")
        let approved = Roles.proposal("0000000e-0000-4000-8000-00000000000e")

        init() throws {
            fixture = try Roles.Fixture()
            server = try fixture.open(0, migrate: false)
            reviewer = try fixture.open(1, migrate: false)
            auditor = try fixture.open(2, migrate: false)
            let store = PostgresActionStore(database: server), reviews = PostgresActionStore(database: reviewer)
            for record in [finished, approved] {
                try store.insert(record, audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1", proposalID: record.id,
                                                                   outcome: "PROPOSED")])
                _ = try reviews.update(record.id) { stored, _ in Roles.approval(stored) }
            }
            _ = try store.update(finished.id) { _, _ in Roles.claim(finished.id) }
            let at = Roles.base + 90
            _ = try store.update(finished.id) { stored, _ in
                var run = try #require(stored.execution)
                run.finishedAt = at
                run.exitCode = 0
                run.stdout = "restarted\n"
                run.verified = "passed"
                return ProposalChange(transition: .init(from: .executing, to: .completed, actor: "mcp:svc", reason: "exit 0", at: at),
                                      execution: run, audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1",
                                                                                proposalID: finished.id, outcome: "COMPLETED")])
            }
        }

        func remove() { fixture.remove() }
    }

    /// The SQLSTATE of one statement run by `database`'s login (nil when it ran).
    static func sqlState(_ database: PostgresStateDatabase, _ sql: String) -> String? {
        Roles.sqlState { try Roles.raw(database, sql) }
    }

    @Test("F1: a finished execution cannot be rewritten, a running one keeps its owner and start, and an execution is recorded only by a claim")
    func executionsAreHistory() throws {
        let store = try Store()
        defer { store.remove() }
        let reads = PostgresActionStore(database: store.auditor)
        let before = try #require(try reads.load(store.finished.id))
        for rewrite in ["stdout = 'nothing was restarted'", "verified = 'failed', exit_code = 1", "executor = 'mcp:someone-else'",
                        "owner_lease_until = 0", "finished_at = NULL"] {
            #expect(Self.sqlState(store.server, "UPDATE execution SET \(rewrite) WHERE proposal_id = '\(store.finished.id)'") == "P0001", "\(rewrite)")
        }
        #expect(try reads.load(store.finished.id) == before)

        // A running execution: its lease may move (the owner's renewal), its owner, executor, start and proposal may not.
        _ = try PostgresActionStore(database: store.server).update(store.approved.id) { _, _ in Roles.claim(store.approved.id) }
        for rewrite in ["executor = 'mcp:thief'", "owner_host = 'elsewhere'", "owner_pid = 1", "owner_start = 'x'", "started_at = 5",
                        "proposal_id = '\(store.finished.id)'"] {
            #expect(Self.sqlState(store.server, "UPDATE execution SET \(rewrite) WHERE proposal_id = '\(store.approved.id)'") == "P0001", "\(rewrite)")
        }
        #expect(Self.sqlState(store.server, "UPDATE execution SET owner_lease_until = 42 WHERE proposal_id = '\(store.approved.id)'") == nil)
        #expect(try reads.load(store.approved.id)?.execution?.owner.leaseUntil == Date(timeIntervalSince1970: 0.042))

        // No execution for a proposal that is not APPROVED; none planted on an APPROVED one without its claim (checked at COMMIT).
        let proposed = Roles.proposal("0000000f-0000-4000-8000-00000000000f"), planted = Roles.proposal("00000010-0000-4000-8000-000000000010")
        try PostgresActionStore(database: store.server).insert(proposed, audit: [])
        try PostgresActionStore(database: store.server).insert(planted, audit: [])
        _ = try PostgresActionStore(database: store.reviewer).update(planted.id) { stored, _ in Roles.approval(stored) }
        let insert = "INSERT INTO execution (proposal_id, executor, owner_host, owner_pid, owner_start, started_at) VALUES ('%@', 'mcp:thief', 'h', 1, 's', 0)"
        #expect(Self.sqlState(store.server, insert.replacingOccurrences(of: "%@", with: proposed.id)) == "23514")
        #expect(Self.sqlState(store.server, insert.replacingOccurrences(of: "%@", with: planted.id)) == "23514")
        #expect(try reads.load(planted.id)?.execution == nil)
        // The honest claim of the planted one still works.
        let claimed = try PostgresActionStore(database: store.server).update(planted.id) { _, _ in Roles.claim(planted.id) }
        #expect(claimed.record.state == .executing && claimed.record.execution?.executor == "mcp:svc")
    }

    @Test("F2: a login in none of the roles cannot connect; auditors cannot hold the audit lock; a held lock fails in bounded time with an error naming the cause")
    func auditLockIsTheWritersOnly() throws {
        let store = try Store()
        defer { store.remove() }
        let outsider = "o" + UUID().uuidString.lowercased().prefix(8) + "_other"
        try store.fixture.database.sql("CREATE ROLE \(outsider) LOGIN")
        defer { _ = try? store.fixture.database.cluster.sql("DROP ROLE IF EXISTS \(outsider)") }
        #expect(Roles.sqlState { _ = try PostgresStateDatabase(endpoint: store.fixture.endpoint(outsider), migrate: false) } == "42501")
        let publicRights = try store.fixture.database.sql("""
            SELECT has_database_privilege('\(outsider)', current_database(), 'CONNECT'), has_database_privilege('\(outsider)', current_database(), 'TEMPORARY'),
                   has_schema_privilege('\(outsider)', 'public', 'CREATE')
            """)
        #expect(publicRights.trimmingCharacters(in: .whitespacesAndNewlines) == "f|f|f")

        // The auditor may read the lock's row, not lock it; nobody may change it.
        #expect(Self.sqlState(store.auditor, "SELECT id FROM audit_lock WHERE id = 1 FOR UPDATE") == "42501")
        #expect(Self.sqlState(store.auditor, "CREATE TEMP TABLE held (id INTEGER)") == "42501")
        #expect(Self.sqlState(store.server, "UPDATE audit_lock SET id = 1") == "P0001")
        #expect(Self.sqlState(store.server, "DELETE FROM audit_lock") == "42501")

        // A writer's login that holds the lock: another server's update gives up after its lock_timeout, naming the cause.
        let holder = try PostgresConnectionPool(endpoint: store.fixture.endpoint(store.fixture.logins[1]), logger: .init(label: "holder"))
        let locked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread {
            _ = try? holder.withSession { session in
                try session.transaction { session in
                    try PostgresStateDatabase.withAuditLock(session)
                    locked.signal()
                    release.wait()
                }
            }
            done.signal()
        }.start()
        #expect(locked.wait(timeout: .now() + 20) == .success)
        let impatient = try PostgresStateDatabase(endpoint: store.fixture.endpoint(store.fixture.logins[0]), migrate: false,
                                                  lockTimeout: .milliseconds(300))
        let started = Date()
        do {
            _ = try PostgresActionStore(database: impatient).update(store.approved.id) { _, _ in nil }
            Issue.record("the update went through while another session held the audit lock")
        } catch let error as PostgresStoreError {
            guard case .lockTimeout = error else { Issue.record("not a lock timeout: \(error)"); throw error }
            #expect(error.sqlState == "55P03")
            #expect(error.description.contains("pg_stat_activity") && error.description.contains("LINUX_MCP_DATABASE_URL"))
        }
        #expect(Date().timeIntervalSince(started) < 10, "the wait was not bounded by lock_timeout")
        release.signal()
        #expect(done.wait(timeout: .now() + 20) == .success)
        // Released: the same update goes through.
        #expect(try PostgresActionStore(database: impatient).update(store.approved.id) { _, _ in nil }.record.state == .approved)
    }

    @Test("F2: a session holding the migration lock makes a start fail after lock_timeout instead of hanging")
    func migrationLockIsBounded() throws {
        let store = try Store()
        defer { store.remove() }
        let holder = try PostgresConnectionPool(endpoint: store.fixture.endpoint(store.fixture.logins[0]), logger: .init(label: "holder"))
        let locked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread {
            _ = try? holder.withSession { session in
                try session.run("SELECT pg_advisory_lock(\(PostgresSchema.migrationLock))")
                locked.signal()
                release.wait()
                try session.run("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))")
            }
            done.signal()
        }.start()
        #expect(locked.wait(timeout: .now() + 20) == .success)
        #expect(Roles.sqlState {
            _ = try PostgresStateDatabase(endpoint: store.fixture.endpoint(store.fixture.logins[1]), migrate: false, lockTimeout: .milliseconds(300))
        } == "55P03")
        release.signal()
        #expect(done.wait(timeout: .now() + 20) == .success)
        _ = try PostgresStateDatabase(endpoint: store.fixture.endpoint(store.fixture.logins[1]), migrate: false, lockTimeout: .milliseconds(300))
    }

    @Test("F3: an audit row that does not continue the chain is refused (a foreign previous hash, a gap, the last BIGINT); honest appends go on")
    func auditRowsContinueTheChain() async throws {
        let store = try Store()
        defer { store.remove() }
        let log = PostgresAuditLog(database: store.server)
        let head = try #require(try log.head())
        func row(_ seq: Int64, _ previous: String) -> String {
            """
            INSERT INTO audit (seq, at, actor, kind, host, action, proposal_id, outcome, detail, previous_hash, hash)
            VALUES (\(seq), '2027-01-15T08:00:00.000Z', 'system', 'state', 't1', '', '', 'x', '{}', '\(previous)', 'garbage')
            """
        }
        for (database, seq, previous) in [(store.server, head.seq + 1, "not-the-head"), (store.server, head.seq + 2, head.hash),
                                          (store.server, Int64.max, head.hash), (store.reviewer, head.seq, head.hash),
                                          (store.reviewer, head.seq + 1, AuditChain.genesis)] {
            #expect(Self.sqlState(database, row(seq, previous)) == "23514", "seq \(seq), previous \(previous)")
        }
        #expect(try log.head() == head)
        try await log.append([AuditChain.Record(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok")])
        let rows = try PostgresAuditLog(database: store.auditor).records(AuditFilter())
        #expect(rows.count == Int(head.seq) + 1 && AuditChain.verify(rows) == nil)
    }

    @Test("F3: with the chain's trigger disabled by the owner and a row at the last BIGINT, an append is refused with an error, not a crash")
    func lastSequenceNumberIsARefusal() async throws {
        let store = try Store()
        defer { store.remove() }
        let owner = try PostgresStateDatabase(endpoint: store.fixture.endpoint(TestPostgres.superuser), migrate: false)
        let head = try #require(try PostgresAuditLog(database: owner).head())
        try Roles.raw(owner, "ALTER TABLE audit DISABLE TRIGGER audit_continues_chain")
        try Roles.raw(owner, """
            INSERT INTO audit (seq, at, actor, kind, host, action, proposal_id, outcome, detail, previous_hash, hash)
            VALUES (\(Int64.max), '2027-01-15T08:00:00.000Z', 'system', 'state', 't1', '', '', 'x', '{}', '\(head.hash)', 'y')
            """)
        try Roles.raw(owner, "ALTER TABLE audit ENABLE TRIGGER audit_continues_chain")
        await #expect(throws: PostgresStoreError.auditSequenceExhausted(endpoint: store.server.endpoint, last: Int64.max)) {
            try await PostgresAuditLog(database: store.server).append([AuditChain.Record(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok")])
        }
    }

    @Test("F4: a transition's id is the sequence's whatever the INSERT gives: nothing is placed first, and squatted ids do not block honest writes")
    func transitionIdsAreTheSequences() throws {
        let store = try Store()
        defer { store.remove() }
        let reads = PostgresActionStore(database: store.auditor)
        let before = try #require(try reads.load(store.finished.id)).transitions
        #expect(Self.sqlState(store.server, """
            INSERT INTO transition (id, proposal_id, from_state, to_state, actor, reason, at) OVERRIDING SYSTEM VALUE
            VALUES (-1, '\(store.finished.id)', NULL, 'PROPOSED', 'key:bob', 'forged', 0)
            """) == nil)
        let after = try #require(try reads.load(store.finished.id)).transitions
        #expect(Array(after.dropLast()) == before && after.last?.reason == "forged", "the forged row must read back last, in insertion order")
        #expect(try store.fixture.database.sql("SELECT count(*) FROM transition WHERE id <= 0").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        // Ids the next honest inserts would get, given explicitly: each row takes a fresh one instead.
        #expect(Self.sqlState(store.reviewer, """
            INSERT INTO transition (id, proposal_id, from_state, to_state, actor, reason, at) OVERRIDING SYSTEM VALUE
            SELECT last_value + g, '\(store.approved.id)', NULL, 'PROPOSED', 'x', 'squat', 0 FROM transition_id_seq, generate_series(1, 5) g
            """) == nil)
        let claimed = try PostgresActionStore(database: store.server).update(store.approved.id) { _, _ in Roles.claim(store.approved.id) }
        #expect(claimed.record.state == .executing && claimed.record.transitions.last?.reason == "claimed")
    }

    @Test("F6: a decision records the login that wrote it, whatever the INSERT says")
    func decisionsNameTheirWriter() throws {
        let store = try Store()
        defer { store.remove() }
        let reviewerLogin = store.fixture.logins[1]
        let other = Roles.proposal("00000011-0000-4000-8000-000000000011")
        try PostgresActionStore(database: store.server).insert(other, audit: [])
        #expect(Self.sqlState(store.reviewer, """
            INSERT INTO decision (proposal_id, approver, approves, reason, digest, at, os_account, written_by)
            VALUES ('\(other.id)', 'bob', false, 'bob says no', 'd', 1, 'bob', 'bob')
            """) == nil)
        let writers = try store.fixture.database.sql("SELECT approver || ':' || written_by FROM decision ORDER BY proposal_id, approver")
        #expect(writers.split(separator: "\n").map(String.init) == ["alice:\(reviewerLogin)", "alice:\(reviewerLogin)", "bob:\(reviewerLogin)"])
    }

    @Test("A run is written to by the login that claimed it: another server's login cannot write its result or move its lease, only mark it interrupted; a finish that leaves the proposal EXECUTING is refused at commit")
    func runsBelongToTheirClaimer() throws {
        let store = try Store()
        defer { store.remove() }
        let other = store.fixture.logins[0] + "_b"
        _ = try store.fixture.database.sql("CREATE ROLE \(other) LOGIN IN ROLE \(store.fixture.names.server)")
        defer { _ = try? store.fixture.database.cluster.sql("DROP ROLE IF EXISTS \(other)") }
        let secondServer = try PostgresStateDatabase(endpoint: store.fixture.endpoint(other), migrate: false)
        let id = store.approved.id
        _ = try PostgresActionStore(database: store.server).update(id) { _, _ in Roles.claim(id) }

        // Another login: no result, no lease.
        #expect(Self.sqlState(secondServer, "UPDATE execution SET finished_at = 1, exit_code = 0, stdout = 'all healthy', verified = 'passed' WHERE proposal_id = '\(id)'") == "42501")
        #expect(Self.sqlState(secondServer, "UPDATE execution SET owner_lease_until = 0 WHERE proposal_id = '\(id)'") == "42501")
        // The claimer itself cannot leave a finished run under an EXECUTING proposal (checked at commit).
        #expect(Self.sqlState(store.server, "UPDATE execution SET finished_at = 1, exit_code = 0 WHERE proposal_id = '\(id)'") == "23514")
        // Another server marks it interrupted through the product's own change: allowed.
        let interrupted = try PostgresActionStore(database: secondServer).update(id) { current, _ in
            try ProposalRules.interruption(of: current, because: .leasePassed(Roles.base), now: Roles.base + 200)
        }
        #expect(interrupted.record.state == .interrupted && interrupted.record.execution?.verified == "not-checked")
        #expect(interrupted.record.execution?.exitCode == nil && interrupted.record.execution?.finishedAt != nil)
    }
}


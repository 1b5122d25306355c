import Foundation
import InfraDomain
@testable import InfraStorePostgres
import InfraTestSupport
import PostgresNIO
import Testing

/// The roles the database enforces (PostgresRoles), on the private test cluster: after `apply`, logins in each
/// group role open the store through PostgresStateDatabase and do what their role may, and what it may not is
/// refused by PostgreSQL itself with SQLSTATE 42501 (insufficient_privilege), not by a trigger.
@Suite("PostgreSQL roles", .enabled(if: TestPostgres.available, Comment(rawValue: TestPostgres.missingReason)))
struct PostgresRolesTests {
    /// A fresh database with the roles applied and one login per group role. Group and login names carry a
    /// prefix of their own: roles are cluster-wide and the suites run in parallel.
    struct Fixture {
        let database: TestPostgres.Database
        let names: PostgresRoles.Names
        let logins: [String]

        init() throws {
            database = try TestPostgres.freshDatabase()
            let prefix = "r" + UUID().uuidString.lowercased().prefix(8)
            names = PostgresRoles.Names(owner: prefix + "_owner", server: prefix + "_server", reviewer: prefix + "_reviewer",
                                        auditor: prefix + "_auditor")
            logins = [prefix + "_srv", prefix + "_rev", prefix + "_aud"]
            try PostgresRoles.apply(admin: endpoint(TestPostgres.superuser), names: names)
            for (login, group) in zip(logins, [names.server, names.reviewer, names.auditor]) {
                try database.sql("CREATE ROLE \(login) LOGIN IN ROLE \(group)")
            }
        }

        func endpoint(_ user: String) -> DatabaseURL {
            TestPostgres.url(socketPath: database.socketPath, user: user, database: database.name)
        }

        func open(_ login: Int, migrate: Bool = true) throws -> PostgresStateDatabase {
            try PostgresStateDatabase(endpoint: endpoint(logins[login]), migrate: migrate)
        }

        func remove() {
            database.drop()
            _ = try? database.cluster.sql("DROP ROLE IF EXISTS \((logins + names.all).joined(separator: ", "))")
        }
    }

    /// The SQLSTATE of what `body` threw (nil when it did not throw a store error).
    static func sqlState(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as PostgresStoreError {
            return error.sqlState
        } catch {
            return "not a store error: \(error)"
        }
    }

    /// Runs one statement as the database's login, outside the store's API.
    static func raw(_ database: PostgresStateDatabase, _ sql: String) throws {
        _ = try database.write { session in try session.run(PostgresQuery(unsafeSQL: sql)) }
    }

    static let base = Date(timeIntervalSince1970: 1_800_000_000)

    static func proposal(_ id: String) -> ProposalRecord {
        let parameters = ["unit": "nginx.service"]
        return ProposalRecord(
            id: id, action: "restart_service", host: "t1", parameters: parameters, rationale: "nginx is down", impact: "MEDIUM",
            catalogueVersion: "sha256:c", digest: ApprovalDigest.compute(action: "restart_service", host: "t1", parameters: parameters,
                                                                          catalogueVersion: "sha256:c"),
            command: ["systemctl", "restart", "--", "nginx.service"], verification: ["systemctl", "is-active", "--", "nginx.service"],
            proposer: "svc", client: "roles", state: .proposed, requiredApprovals: 1, createdAt: base, expiresAt: base + 3600,
            transitions: [.init(from: nil, to: .proposed, actor: "mcp:svc", reason: "nginx is down", at: base)])
    }

    static func approval(_ record: ProposalRecord) -> ProposalChange {
        let at = base + 30
        return ProposalChange(transition: .init(from: .proposed, to: .approved, actor: "key:alice", reason: "1 of 1", at: at),
                              decision: .init(approver: "alice", approves: true, reason: "ok", digest: record.digest, at: at),
                              approval: (at, at + 900),
                              audit: [AuditChain.Record(actor: "key:alice", kind: "state", host: "t1", proposalID: record.id, outcome: "APPROVED")])
    }

    static func claim(_ id: String) -> ProposalChange {
        let at = base + 60
        return ProposalChange(transition: .init(from: .approved, to: .executing, actor: "mcp:svc", reason: "claimed", at: at),
                              execution: .init(executor: "mcp:svc", owner: .init(host: "h", pid: 7, start: "s", leaseUntil: at + 30), startedAt: at),
                              audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1", proposalID: id, outcome: "EXECUTING")])
    }

    @Test("the server's role inserts proposals, claims and finishes executions and appends audit rows; it cannot write decisions or change the audit log")
    func serverRole() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let server = try fixture.open(0), reviewer = try fixture.open(1)
        let store = PostgresActionStore(database: server), audit = PostgresAuditLog(database: server)
        let record = Self.proposal("00000001-0000-4000-8000-000000000001")
        try store.insert(record, audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1", proposalID: record.id, outcome: "PROPOSED")])
        // A decision is the reviewers' to write: the server's approval is refused by the database, and nothing of it is kept.
        #expect(Self.sqlState { _ = try store.update(record.id) { stored, _ in Self.approval(stored) } } == "42501")
        #expect(try store.load(record.id) == record)
        _ = try PostgresActionStore(database: reviewer).update(record.id) { stored, _ in Self.approval(stored) }
        _ = try store.update(record.id) { _, _ in Self.claim(record.id) }
        let finishedAt = Self.base + 90
        let done = try store.update(record.id) { stored, _ in
            var run = try #require(stored.execution)
            run.finishedAt = finishedAt
            run.exitCode = 0
            return ProposalChange(transition: .init(from: .executing, to: .completed, actor: "mcp:svc", reason: "exit 0", at: finishedAt),
                                  execution: run, audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1", proposalID: record.id,
                                                                            outcome: "COMPLETED")])
        }
        #expect(done.record.state == .completed && done.record.execution?.exitCode == 0)
        try await audit.append([AuditChain.Record(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok")])
        let rows = try audit.records(AuditFilter())
        #expect(rows.map(\.outcome) == ["PROPOSED", "APPROVED", "EXECUTING", "COMPLETED", "ok"])
        #expect(AuditChain.verify(rows) == nil)
        // History cannot be rewritten by the server's account: refused by privilege (42501), before any trigger.
        #expect(Self.sqlState { try Self.raw(server, "UPDATE audit SET outcome = 'forged' WHERE seq = 1") } == "42501")
        #expect(Self.sqlState { try Self.raw(server, "DELETE FROM audit WHERE seq = 1") } == "42501")
        #expect(Self.sqlState { try Self.raw(server, "TRUNCATE audit") } == "42501")
        #expect(Self.sqlState { try Self.raw(server, "DELETE FROM transition") } == "42501")
        #expect(Self.sqlState { try Self.raw(server, "UPDATE proposal SET approved_at = 1") } == "42501")
        #expect(Self.sqlState {
            try Self.raw(server, "INSERT INTO decision (proposal_id, approver, approves, reason, digest, at) VALUES ('\(record.id)', 'svc', true, '', '', 0)")
        } == "42501")
        #expect(try audit.records(AuditFilter()) == rows)
    }

    @Test("reviewers write decisions and cannot create executions or proposals; auditors read and cannot write")
    func reviewerAndAuditorRoles() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let server = try fixture.open(0), reviewer = try fixture.open(1), auditor = try fixture.open(2)
        let record = Self.proposal("00000002-0000-4000-8000-000000000002")
        try PostgresActionStore(database: server).insert(record, audit: [])
        let reviews = PostgresActionStore(database: reviewer)
        #expect(Self.sqlState { try reviews.insert(Self.proposal("00000003-0000-4000-8000-000000000003"), audit: []) } == "42501")
        let approved = try reviews.update(record.id) { stored, _ in Self.approval(stored) }
        #expect(approved.record.state == .approved && approved.record.decisions.map(\.approver) == ["alice"])
        // A claim writes an execution: the reviewers' role cannot, so nothing of the claim is kept.
        #expect(Self.sqlState { _ = try reviews.update(record.id) { _, _ in Self.claim(record.id) } } == "42501")
        #expect(try reviews.load(record.id) == approved.record)
        #expect(Self.sqlState { try Self.raw(reviewer, "UPDATE audit SET outcome = 'forged'") } == "42501")
        #expect(Self.sqlState { try Self.raw(reviewer, "DELETE FROM audit") } == "42501")

        let reads = PostgresActionStore(database: auditor), log = PostgresAuditLog(database: auditor)
        #expect(try reads.load(record.id) == approved.record)
        #expect(try log.records(AuditFilter()).map(\.outcome) == ["APPROVED"])
        do {
            try await log.append([AuditChain.Record(actor: "os:aud", kind: "tool", host: "t1", outcome: "forged")])
            Issue.record("the auditor appended an audit row")
        } catch let error as PostgresStoreError {
            #expect(error.sqlState == "42501")
            #expect(error.description.contains("LINUX_MCP_DATABASE_URL"))
        }
        #expect(Self.sqlState { try reads.insert(Self.proposal("00000004-0000-4000-8000-000000000004"), audit: []) } == "42501")
        #expect(try log.records(AuditFilter()).count == 1)
    }

    @Test("the audit log and transitions are append-only by trigger too, even for the owner")
    func triggersRefuseTheOwner() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let owner = try PostgresStateDatabase(endpoint: fixture.endpoint(TestPostgres.superuser))
        let record = Self.proposal("00000005-0000-4000-8000-000000000005")
        try PostgresActionStore(database: owner).insert(record, audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1",
                                                                                           proposalID: record.id, outcome: "PROPOSED")])
        for statement in ["UPDATE audit SET outcome = 'forged'", "DELETE FROM audit", "TRUNCATE audit", "UPDATE transition SET reason = 'x'",
                          "DELETE FROM transition"] {
            #expect(Self.sqlState { try Self.raw(owner, statement) } == "P0001", "\(statement)")
        }
        #expect(try PostgresAuditLog(database: owner).records(AuditFilter()).count == 1)
    }

    @Test("a role that cannot migrate is told to run init-postgres; a role name outside the allowlist is refused")
    func cannotMigrate() throws {
        let database = try TestPostgres.freshDatabase()
        defer { database.drop() }
        let login = "m" + UUID().uuidString.lowercased().prefix(8) + "_login"
        try database.sql("CREATE ROLE \(login) LOGIN")
        defer { _ = try? database.cluster.sql("DROP ROLE IF EXISTS \(login)") }
        let endpoint = TestPostgres.url(socketPath: database.socketPath, user: login, database: database.name)
        for migrate in [true, false] {
            do {
                _ = try PostgresStateDatabase(endpoint: endpoint, migrate: migrate)
                Issue.record("an empty database opened for a role without privileges (migrate: \(migrate))")
            } catch {
                let missing: [String]? = if case .schemaTooOld(_, let missing) = error { missing } else { nil }
                #expect(missing == PostgresSchema.migrations.map(\.identifier), "\(error)")
                #expect(error.description.contains("mcp-linux-infra store init-postgres --apply"))
            }
        }
        #expect(try database.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(throws: PostgresStoreError.invalidRoleName("mcp_server; DROP TABLE audit")) {
            try PostgresRoles.roleStatements(.init(owner: "mcp_owner", server: "mcp_server; DROP TABLE audit", reviewer: "r", auditor: "a"))
        }
        #expect(throws: PostgresStoreError.invalidRoleName("Mcp")) { try PostgresRoles.validate(.init(owner: "Mcp", server: "s", reviewer: "r", auditor: "a")) }
    }

    @Test("the printed script (init-postgres --print) run by psql gives the same schema and privileges as apply")
    func printedScript() throws {
        let database = try TestPostgres.freshDatabase()
        let prefix = "p" + UUID().uuidString.lowercased().prefix(8)
        let names = PostgresRoles.Names(owner: prefix + "_owner", server: prefix + "_server", reviewer: prefix + "_reviewer", auditor: prefix + "_auditor")
        defer {
            database.drop()
            _ = try? database.cluster.sql("DROP ROLE IF EXISTS \(prefix)_srv, \(names.all.joined(separator: ", "))")
        }
        try database.sql(try PostgresRoles.script(names))
        try database.sql("CREATE ROLE \(prefix)_srv LOGIN IN ROLE \(names.server)")
        let server = try PostgresStateDatabase(endpoint: TestPostgres.url(socketPath: database.socketPath, user: prefix + "_srv", database: database.name), migrate: false)
        try PostgresActionStore(database: server).insert(Self.proposal("0000000c-0000-4000-8000-00000000000c"),
                                                         audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1", outcome: "PROPOSED")])
        #expect(Self.sqlState { try Self.raw(server, "DELETE FROM audit") } == "42501")
        #expect(try database.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'audit'").trimmingCharacters(in: .whitespacesAndNewlines)
                == names.owner)
    }

    @Test("two servers opening a fresh database at once: both succeed, each migration is applied once")
    func migrationRace() async throws {
        let database = try TestPostgres.freshDatabase()
        defer { database.drop() }
        let endpoint = TestPostgres.url(socketPath: database.socketPath, user: TestPostgres.superuser, database: database.name)
        let opened = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    await withCheckedContinuation { done in
                        Thread {
                            do { _ = try PostgresStateDatabase(endpoint: endpoint); done.resume(returning: nil) }
                            catch { done.resume(returning: "\(error)") }
                        }.start()
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(opened.compactMap { $0 }.isEmpty, "\(opened)")
        let applied = try database.sql("SELECT identifier FROM schema_migrations ORDER BY applied_at, identifier").split(separator: "\n")
        #expect(applied.map(String.init) == PostgresSchema.migrations.map(\.identifier))
    }

    @Test("errors name LINUX_MCP_DATABASE_URL and the fix, never the password")
    func connectionErrors() throws {
        let database = try TestPostgres.freshDatabase()
        defer { database.drop() }
        let missing = DatabaseURL(address: .unixSocket(folder: database.cluster.folder, port: 1), user: "postgres", password: "hunter2",
                                  database: database.name, tls: .disable)
        do {
            _ = try PostgresStateDatabase(endpoint: missing)
            Issue.record("a missing socket was reached")
        } catch {
            guard case .unreachable = error else { Issue.record("\(error)"); return }
            #expect(error.description.contains("LINUX_MCP_DATABASE_URL") && !error.description.contains("hunter2"))
        }
        let unknown = TestPostgres.url(socketPath: database.socketPath, user: "nobody_here", database: database.name)
        do {
            _ = try PostgresStateDatabase(endpoint: unknown)
            Issue.record("an unknown role logged in")
        } catch {
            guard case .authenticationFailed = error else { Issue.record("\(error)"); return }
            #expect(error.description.contains("LINUX_MCP_DATABASE_URL"))
        }
    }
}

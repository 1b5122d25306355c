import Foundation
@testable import InfraApp
import InfraDomain
import InfraStorePostgres
import InfraTestSupport
import Testing

/// `store copy` (``StoreCopy``) into a real PostgreSQL database of the private test cluster, from a store written by the
/// real use cases: proposals, signed approvals, an execution, cancellations, tool-call rows.
@Suite("store copy: a whole store into an empty PostgreSQL one", .enabled(if: TestPostgres.available, Comment(rawValue: TestPostgres.missingReason)))
struct StoreCopyTests {
    /// A fresh database and the product's handle on it.
    static func destination() throws -> (TestPostgres.Database, PostgresStateDatabase) {
        let database = try TestPostgres.freshDatabase()
        let handle = try PostgresStateDatabase(endpoint: TestPostgres.url(socketPath: database.socketPath, user: TestPostgres.superuser, database: database.name))
        return (database, handle)
    }

    static func copy(_ fixture: UseCaseFixture, into handle: PostgresStateDatabase) -> StoreCopy {
        StoreCopy(source: (fixture.store, fixture.store),
                  destination: (PostgresActionStore(database: handle), PostgresAuditLog(database: handle)),
                  importer: PostgresStoreImport(database: handle), inventory: fixture.inventory)
    }

    @Test("1,000 proposals with signed approvals and a run: the chain verified, counts and every record equal; a second copy is refused")
    func copiesAThousand() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun(.ok("restarted\n"))
        _ = try await fixture.workflow().execute(approved.id)
        let pending = try await fixture.approved("restart_service", on: "web1")
        for number in 0..<998 {
            let proposal = try await fixture.propose()
            if number % 10 == 0 {
                _ = try fixture.workflow().cancel(proposal.id, reason: "not needed", by: fixture.workflow().localCaller(client: "c"))
            }
        }
        try await fixture.exec.recorder.record(.init(actor: "mcp:svc", kind: "tool", host: "web1", outcome: "ok", detail: ["tool": "memory"]))
        let source = fixture.store.chain
        let (database, handle) = try Self.destination()
        defer { database.drop() }

        let report = try Self.copy(fixture, into: handle).run()
        #expect(report.proposals == 1000)
        #expect(report.auditRows == source.count)
        #expect(report.head == source.last.map { AuditChain.Anchor(seq: $0.seq, hash: $0.hash) })
        #expect(report.statementsChecked >= 4, "two signed approvals, checked in the source and in the copy: \(report)")

        // Read back independently of the copy's own check.
        let store = PostgresActionStore(database: handle), audit = PostgresAuditLog(database: handle)
        #expect(try audit.records(AuditFilter()) == source)
        #expect(try store.list(states: []).count == 1000)
        #expect(try store.load(pending.id) == fixture.store.load(pending.id))
        #expect(try store.load(approved.id)?.execution?.stdout == "restarted\n")
        let again = try AuditVerification(store: store, audit: audit, inventory: fixture.inventory).verifyLog(anchors: [])
        #expect(again.problems.isEmpty, "\(again.problems)")
        #expect(again.rows == source.count && again.statementsChecked == 2)

        // Into a store that is not empty: refused, nothing added.
        #expect(throws: StoreCopy.Failure.self) { try Self.copy(fixture, into: handle).run() }
        #expect(try audit.records(AuditFilter()).count == source.count)
    }

    @Test("A source whose run result was rewritten, or whose tail was cut below a saved anchor, is not copied")
    func rewrittenResultAndCutTailAreRefused() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        fixture.scriptRun(.ok("restarted\n"))
        _ = try await fixture.workflow().execute(approved.id)
        let (database, handle) = try Self.destination()
        defer { database.drop() }
        fixture.store.tamper(approved.id) { $0.execution?.stdout = "all fine\n" }
        #expect(throws: StoreCopy.Failure.self) { try Self.copy(fixture, into: handle).run() }
        fixture.store.tamper(approved.id) { $0.execution?.stdout = "restarted\n" }
        let head = try #require(fixture.store.chain.last)
        var copy = Self.copy(fixture, into: handle)
        copy.anchors = [AuditChain.Anchor(seq: head.seq + 5, hash: head.hash)]
        do {
            _ = try copy.run()
            Issue.record("a source missing an anchored row was copied")
        } catch let failure as StoreCopy.Failure {
            #expect(failure.description.contains("--anchor"), "\(failure)")
        }
        #expect(try PostgresStoreImport(database: handle).isEmpty())
    }

    @Test("A source that does not verify is not copied, and the destination stays empty")
    func tamperedSourceIsRefused() async throws {
        let fixture = try UseCaseFixture()
        let approved = try await fixture.approved()
        _ = try await fixture.propose()
        fixture.store.tamper(approved.id) { $0.parameters["unit"] = "sshd.service" }
        let (database, handle) = try Self.destination()
        defer { database.drop() }
        do {
            _ = try Self.copy(fixture, into: handle).run()
            Issue.record("a tampered source was copied")
        } catch let failure as StoreCopy.Failure {
            #expect(failure.description.contains("does not verify") && failure.description.contains(approved.id), "\(failure)")
        }
        #expect(try PostgresStoreImport(database: handle).isEmpty())
    }
}

import Foundation
import InfraDomain
import InfraApp
import InfraStorePostgres
import InfraTestSupport
import Testing

/// The store conformance suite (InfraTestSupport's StoreConformance) on PostgreSQL, unchanged: each fresh store
/// is a new database in the private test cluster (TestPostgres); another handle is another
/// PostgresStateDatabase (its own connection pool); the second process is this test binary again, running only
/// ``secondProcess()``; a newer release is one whose migration identifier this one does not know.
@Suite("Store conformance: PostgreSQL", .enabled(if: TestPostgres.available, Comment(rawValue: TestPostgres.missingReason)))
struct PostgresStoreConformanceTests {
    static func endpoint(_ location: String) throws -> DatabaseURL {
        guard let parts = TestPostgres.parse(location: location) else { throw TestPostgres.Failure(description: "bad location \(location)") }
        return TestPostgres.url(socketPath: parts.socketPath, user: parts.user, database: parts.database)
    }

    static func open(_ location: String) throws -> StoreConformance.Opened {
        let database = try PostgresStateDatabase(endpoint: try endpoint(location))
        return .init(actions: PostgresActionStore(database: database), audit: PostgresAuditLog(database: database))
    }

    /// A fresh store: a new database in the private cluster, and a way to open it again.
    static func fresh() throws -> StoreConformance.Fresh {
        let database = try TestPostgres.freshDatabase()
        return .init(opened: try open(database.location), reopen: { try open(database.location) }, location: database.location,
                     remove: { database.drop() })
    }

    static let suite = StoreConformance(
        backend: "PostgreSQL",
        make: { try fresh() },
        crossProcess: .init { environment, stdout, stderr in
            let binary = Bundle.main.executablePath ?? CommandLine.arguments[0]
            return try ChildProcess.start(binary, ["--testing-library", "swift-testing", "--filter", "PostgresStoreConformanceTests/secondProcess"],
                                          environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, stdout: stdout, stderr: stderr)
        },
        schema: .init(
            markNewer: { fresh in
                try database(fresh).sql("INSERT INTO schema_migrations (identifier, applied_at) VALUES ('v9-from-the-future', 0)")
            },
            snapshot: { fresh in
                let database = try database(fresh)
                let columns = try database.sql("""
                    SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns
                    WHERE table_schema = 'public' ORDER BY table_name, ordinal_position
                    """)
                let triggers = try database.sql("SELECT tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")
                let indexes = try database.sql("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")
                let migrations = try database.sql("SELECT identifier FROM schema_migrations ORDER BY identifier")
                return [columns, triggers, indexes, migrations].flatMap { $0.split(separator: "\n").map(String.init) }
            }))

    /// The test database of a fresh store, from its location.
    static func database(_ fresh: StoreConformance.Fresh) throws -> TestPostgres.Database {
        guard let location = fresh.location, let parts = TestPostgres.parse(location: location) else {
            throw TestPostgres.Failure(description: "the fresh store has no location")
        }
        return TestPostgres.Database(cluster: try TestPostgres.sharedCluster(), name: parts.database)
    }

    @Test("PostgreSQL keeps the ports' contract", arguments: suite.properties)
    func conforms(_ property: StoreConformance.Property) async throws {
        try await Self.suite.check(property)
    }

    /// The second process of the cross-process property: enabled only in the process that property starts.
    @Test("(the second process of the cross-process claims; runs only there)", .enabled(if: StoreConformance.isChild))
    func secondProcess() async throws {
        let location = try #require(ProcessInfo.processInfo.environment[StoreConformance.locationVariable])
        try await StoreConformance.runChild(try Self.open(location))
    }
}

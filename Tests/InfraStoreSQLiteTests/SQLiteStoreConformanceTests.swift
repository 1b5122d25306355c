import Foundation
import GRDB
import InfraApp
import InfraStoreSQLite
import InfraTestSupport
import Testing

/// The store conformance suite (InfraTestSupport's StoreConformance) on SQLite: the one place SQLite runs it.
/// Each fresh store is a new file; another handle is another connection pool on it; the second process is this
/// test binary again, running only ``secondProcess()``; a newer release is one whose migration this one does
/// not know.
@Suite("Store conformance: SQLite")
struct SQLiteStoreConformanceTests {
    static func open(_ path: String) throws -> StoreConformance.Opened {
        let database = try StateDatabase(path: path)
        return .init(actions: SQLiteActionStore(database: database), audit: SQLiteAuditLog(database: database))
    }

    /// A fresh store: a new file in a folder of its own, and a way to open it again.
    static func fresh() throws -> StoreConformance.Fresh {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)").path
        let path = folder + "/state/state.sqlite3"
        return .init(opened: try open(path), reopen: { try open(path) }, location: path,
                     remove: { try? FileManager.default.removeItem(atPath: folder) })
    }

    static let suite = StoreConformance(
        backend: "SQLite",
        make: { try fresh() },
        crossProcess: .init { environment, stdout, stderr in
            let binary = Bundle.main.executablePath ?? CommandLine.arguments[0]
            return try ChildProcess.start(binary, ["--testing-library", "swift-testing", "--filter", "SQLiteStoreConformanceTests/secondProcess"],
                                          environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, stdout: stdout, stderr: stderr)
        },
        schema: .init(
            markNewer: { fresh in
                let queue = try DatabaseQueue(path: fresh.location!)
                defer { try? queue.close() }
                try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')") }
            },
            snapshot: { fresh in
                let queue = try DatabaseQueue(path: fresh.location!)
                defer { try? queue.close() }
                return try queue.read { db in
                    try String.fetchAll(db, sql: "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
                        + String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                }
            }))

    @Test("SQLite keeps the ports' contract", arguments: suite.properties)
    func conforms(_ property: StoreConformance.Property) async throws {
        try await Self.suite.check(property)
    }

    /// The second process of the cross-process property: enabled only in the process that property starts.
    @Test("(the second process of the cross-process claims; runs only there)", .enabled(if: StoreConformance.isChild))
    func secondProcess() async throws {
        let path = try #require(ProcessInfo.processInfo.environment[StoreConformance.locationVariable])
        try await StoreConformance.runChild(try Self.open(path))
    }
}

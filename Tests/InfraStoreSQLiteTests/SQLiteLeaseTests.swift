import InfraTestSupport
import Testing

/// The execution lease across two servers on one SQLite file (two connection pools on it, standing for two
/// machines): see InfraTestSupport's LeaseScenarios for what each scenario shows.
@Suite("Execution leases across servers: SQLite")
struct SQLiteLeaseTests {
    static let scenarios = LeaseScenarios(backend: "SQLite", make: { try SQLiteStoreConformanceTests.fresh() })

    @Test("Two servers on one SQLite file keep the lease rules", arguments: LeaseScenarios.Scenario.allCases)
    func lease(_ scenario: LeaseScenarios.Scenario) async throws {
        try await Self.scenarios.check(scenario)
    }
}

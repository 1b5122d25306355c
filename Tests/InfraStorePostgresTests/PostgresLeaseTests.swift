import InfraTestSupport
import Testing

/// The execution lease across two servers on one PostgreSQL database (two connection pools on it, standing for
/// two machines): see InfraTestSupport's LeaseScenarios for what each scenario shows.
@Suite("Execution leases across servers: PostgreSQL", .enabled(if: TestPostgres.available, Comment(rawValue: TestPostgres.missingReason)))
struct PostgresLeaseTests {
    static let scenarios = LeaseScenarios(backend: "PostgreSQL", make: { try PostgresStoreConformanceTests.fresh() })

    @Test("Two servers on one PostgreSQL database keep the lease rules", arguments: LeaseScenarios.Scenario.allCases)
    func lease(_ scenario: LeaseScenarios.Scenario) async throws {
        try await Self.scenarios.check(scenario)
    }
}

import InfraApp
import InfraTestSupport
import Testing

/// The execution lease and the store sweep over the in-memory store (the same scenarios SQLite runs; see
/// InfraTestSupport's LeaseScenarios), and the sweep's interval.
@Suite("Execution leases and the store sweep: the in-memory store")
struct StoreSweepTests {
    static let scenarios = LeaseScenarios(backend: "in-memory", make: { InMemoryStoreConformanceTests.fresh() })

    @Test("Two servers on one in-memory store keep the lease rules", arguments: LeaseScenarios.Scenario.allCases)
    func lease(_ scenario: LeaseScenarios.Scenario) async throws {
        try await Self.scenarios.check(scenario)
    }

    @Test("The sweep runs every half lease, at most every 30 s")
    func interval() {
        #expect(StoreSweep.interval(forLease: .seconds(3)) == .milliseconds(1500))
        #expect(StoreSweep.interval(forLease: .seconds(50)) == .seconds(25))
        #expect(StoreSweep.interval(forLease: .seconds(60)) == .seconds(30))
        #expect(StoreSweep.interval(forLease: .seconds(3600)) == .seconds(30))
    }
}

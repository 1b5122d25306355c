import InfraTestSupport
import Testing

/// The store conformance suite on the in-memory fake: the use-case tests run on it, so it must keep the
/// ports' contract as SQLite does (see StoreConformance for the properties, and how a backend joins).
@Suite("Store conformance: the in-memory fake")
struct InMemoryStoreConformanceTests {
    /// A fresh store; another handle on it is the same object.
    static func fresh() -> StoreConformance.Fresh {
        let store = InMemoryStore()
        let opened = StoreConformance.Opened(actions: store, audit: store)
        return .init(opened: opened, reopen: { opened })
    }

    static let suite = StoreConformance(backend: "in-memory", make: { fresh() })

    @Test("The fake keeps the ports' contract", arguments: suite.properties)
    func conforms(_ property: StoreConformance.Property) async throws {
        try await Self.suite.check(property)
    }
}

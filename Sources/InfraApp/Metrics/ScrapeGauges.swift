import Foundation
import InfraDomain

/// The gauges computed when `/metrics` is scraped, through the ports: proposals by state (one count per
/// state, as stored: a proposal past its time shows EXPIRED once anything writes), the audit log's rows and
/// its chain checked since the last scrape (``AuditChainCheckpoint``), and what the SSH pool holds open.
/// Nothing is written; each scrape costs a grouped count, the new audit rows and the head.
public struct ScrapeGauges: Sendable {
    let store: any ActionStore
    let audit: any AuditSink
    let remote: any RemoteExec
    let checkpoint: AuditChainCheckpoint
    let metrics: InfraMetrics
    let now: @Sendable () -> Date

    /// The values of one scrape.
    public struct Snapshot: Sendable, Equatable {
        /// Sessions and handshakes open now.
        public var load: RemoteLoad
        /// Proposals per state (a state without any is absent).
        public var proposals: [ActionLifecycle.State: Int]
        /// The audit log and its chain.
        public var chain: AuditChainCheckpoint.Status
    }

    /// The gauges over the ports; `checkpoint` must outlive scrapes (it remembers how far the chain is verified).
    public init(store: any ActionStore, audit: any AuditSink, remote: any RemoteExec, checkpoint: AuditChainCheckpoint,
                metrics: InfraMetrics = .process, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.audit = audit
        self.remote = remote
        self.checkpoint = checkpoint
        self.metrics = metrics
        self.now = now
    }

    /// Reads the values now.
    public func snapshot() async throws -> Snapshot {
        Snapshot(load: await remote.load(), proposals: try store.stateCounts(), chain: try await checkpoint.check(audit, at: now()))
    }

    /// Reads the values and sets the gauges; returns what it set.
    @discardableResult
    public func refresh() async throws -> Snapshot {
        let snapshot = try await snapshot()
        metrics.record(snapshot)
        return snapshot
    }
}

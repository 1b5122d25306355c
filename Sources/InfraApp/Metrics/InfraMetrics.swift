import Foundation
import InfraDomain
import Metrics

/// The server's metrics, through swift-metrics only: the adapters and use cases record here, and whatever
/// backend the process bootstrapped (Prometheus under `serve --http`, none otherwise) receives them. Every
/// name carries the `mcp_infra_` prefix and every label has a bounded set of values: tool names of this
/// server, inventory hosts, account kinds, refusal codes, proposal states. A client's raw text never
/// becomes a label.
public struct InfraMetrics: Sendable {
    /// Where the metrics go; nil: the process's bootstrapped factory, looked up at each record.
    let factory: (any MetricsFactory)?

    /// The process's metrics system (a no-op until something bootstraps it).
    public static let process = InfraMetrics(factory: nil)

    /// Metrics into `factory` (tests pass their own).
    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    private init(factory: (any MetricsFactory)?) {
        self.factory = factory
    }

    // MARK: - Names

    /// Counter: tool calls answered, by `tool` (one of ours, else `unknown`) and `outcome` (`ok`, `error`).
    public static let toolCalls = "mcp_infra_tool_calls_total"
    /// Histogram (seconds): each SSH request attempt, by `host`, `account` (`reader`, `runner`) and `outcome`
    /// (`ok`, `exit`: the forced command answered non-zero, `unreachable`: no answer).
    public static let sshExecDuration = "mcp_infra_ssh_exec_duration_seconds"
    /// Gauge: SSH sessions open in the pool.
    public static let sshSessionsOpen = "mcp_infra_ssh_sessions_open"
    /// Gauge: SSH handshakes running (connect, key exchange, authentication).
    public static let sshHandshakesInFlight = "mcp_infra_ssh_handshakes_in_flight"
    /// Gauge: stored proposals by `state` (every state, 0 included).
    public static let proposals = "mcp_infra_proposals"
    /// Gauge: rows in the audit log (the head's sequence number).
    public static let auditRows = "mcp_infra_audit_rows"
    /// Gauge: 1 when the audit chain verified up to its head at the last check, 0 once a row failed.
    public static let auditChainOK = "mcp_infra_audit_chain_ok"
    /// Gauge: the last row the chain is verified up to (before the first broken row once broken).
    public static let auditChainVerifiedRow = "mcp_infra_audit_chain_verified_row"
    /// Gauge: when the chain was last checked, Unix seconds.
    public static let auditChainCheckedTime = "mcp_infra_audit_chain_checked_timestamp_seconds"
    /// Counter: signed approvals accepted (recorded on a proposal).
    public static let approvalsAccepted = "mcp_infra_approval_signatures_accepted_total"
    /// Counter: approvals refused, by `reason` (the refusal code; `error` for anything else).
    public static let approvalsRefused = "mcp_infra_approval_signatures_refused_total"

    // MARK: - Recording

    /// One tool call answered. `tool` must be one of the server's own tool names or `unknown`.
    public func toolCall(tool: String, ok: Bool) {
        counter(Self.toolCalls, [("tool", tool), ("outcome", ok ? "ok" : "error")]).increment()
    }

    /// One SSH request attempt and how long it took.
    func sshExec(host: String, account: Account, outcome: String, duration: Duration) {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        timer(Self.sshExecDuration, [("host", host), ("account", account.rawValue), ("outcome", outcome)]).recordNanoseconds(nanoseconds)
    }

    /// A signed approval recorded.
    func approvalAccepted() {
        counter(Self.approvalsAccepted, []).increment()
    }

    /// An approval refused; `error` is what refused it.
    func approvalRefused(_ error: any Error) {
        counter(Self.approvalsRefused, [("reason", (error as? Refusal)?.code.rawValue ?? "error")]).increment()
    }

    /// Sets every scrape-time gauge from `snapshot`.
    func record(_ snapshot: ScrapeGauges.Snapshot) {
        gauge(Self.sshSessionsOpen).record(snapshot.load.sessionsOpen)
        gauge(Self.sshHandshakesInFlight).record(snapshot.load.handshakesInFlight)
        for state in ActionLifecycle.State.allCases {
            gauge(Self.proposals, [("state", state.rawValue)]).record(snapshot.proposals[state] ?? 0)
        }
        gauge(Self.auditRows).record(snapshot.chain.rows)
        gauge(Self.auditChainOK).record(snapshot.chain.brokenRow == nil ? 1 : 0)
        gauge(Self.auditChainVerifiedRow).record(snapshot.chain.verified?.seq ?? 0)
        gauge(Self.auditChainCheckedTime).record(snapshot.chain.checkedAt.timeIntervalSince1970)
    }

    // MARK: - Handlers

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        factory.map { Counter(label: label, dimensions: dimensions, factory: $0) } ?? Counter(label: label, dimensions: dimensions)
    }

    private func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        factory.map { CoreMetrics.Timer(label: label, dimensions: dimensions, factory: $0) } ?? CoreMetrics.Timer(label: label, dimensions: dimensions)
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Gauge {
        factory.map { Gauge(label: label, dimensions: dimensions, factory: $0) } ?? Gauge(label: label, dimensions: dimensions)
    }
}

import Foundation
import InfraDomain

/// The drift the last fleet probe found (per host that answered) and when it ran: kept in memory so that
/// `/fleet` shows it without asking every host on each view.
final class FleetSnapshot: @unchecked Sendable {
    private let lock = NSLock()
    private var drift: [String: [ComponentDrift.Difference]] = [:]
    private var probedAt: Date?

    /// Keeps the result of a probe.
    func store(_ drift: [String: [ComponentDrift.Difference]], at date: Date) {
        lock.withLock {
            self.drift = drift
            probedAt = date
        }
    }

    /// The last probe's drift and time, or nil before any probe.
    func last() -> (drift: [String: [ComponentDrift.Difference]], at: Date)? {
        lock.withLock { probedAt.map { (drift, $0) } }
    }
}

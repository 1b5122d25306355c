import Foundation

/// What the workers of one process did: counts, every update's duration, the first error. Shared by the
/// worker threads behind one lock.
final class BenchTally: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var proposals = 0
    private(set) var claims = 0
    private(set) var auditRows = 0
    private(set) var updates: [Duration] = []
    private(set) var failure: (any Error)?

    /// Adds one finished cycle.
    func add(_ outcome: ActionCycle.Outcome) {
        lock.withLock {
            proposals += 1
            claims += 1
            auditRows += outcome.auditRows
            updates += outcome.updates
        }
    }

    /// Keeps the first error (the others are usually its consequences).
    func fail(_ error: any Error) {
        lock.withLock { if failure == nil { failure = error } }
    }

    /// Whether a worker failed.
    var failed: Bool { lock.withLock { failure != nil } }

    /// The `fraction` quantile (0...1) of the update durations, in milliseconds (nearest rank).
    func updateMilliseconds(quantile fraction: Double) -> Double {
        let sorted = lock.withLock { updates }.sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
        let duration = sorted[rank]
        return Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}

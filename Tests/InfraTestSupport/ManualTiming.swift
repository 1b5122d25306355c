import Foundation
import InfraApp

/// Time for ``AuditedExec`` that only moves when it sleeps: a pause passes at once and is recorded, so the
/// busy rule's deadline and backoff are the same on an idle machine and a loaded one.
public final class ManualTiming: @unchecked Sendable {
    private let lock = NSLock()
    private let start = ContinuousClock.now
    private var elapsed = Duration.zero
    private var pauses: [Duration] = []

    /// A clock at its start.
    public init() {}

    /// Every pause taken, in order.
    public var sleeps: [Duration] { lock.withLock { pauses } }

    /// Moves the clock by `duration` (as a request that takes that long would).
    public func advance(_ duration: Duration) { lock.withLock { elapsed += duration } }

    /// The timing to give ``AuditedExec``.
    public var timing: AuditedExec.Timing {
        AuditedExec.Timing(now: { [self] in lock.withLock { start + elapsed } },
                           sleep: { [self] duration in lock.withLock { elapsed += duration; pauses.append(duration) } })
    }
}

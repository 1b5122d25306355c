import Foundation

/// The first reason to stop serving (the client closed the connection, SIGTERM, SIGINT); later ones are ignored.
final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?
    private var waiters: [CheckedContinuation<String, Never>] = []

    /// Records `reason` if it is the first, and wakes whoever waits.
    func fire(_ reason: String) {
        let waiting: [CheckedContinuation<String, Never>] = lock.withLock {
            guard self.reason == nil else { return [] }
            self.reason = reason
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiting { waiter.resume(returning: reason) }
    }

    /// Waits for the first reason.
    func wait() async -> String {
        await withCheckedContinuation { continuation in
            let known: String? = lock.withLock {
                if let reason { return reason }
                waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(returning: known) }
        }
    }
}

import Foundation

/// The SSE responses a session has open now, so that closing the session ends every one of them (a stream
/// left open would hold its connection, and a stop, forever).
final class SessionStreams: @unchecked Sendable {
    private let lock = NSLock()
    private var relays: [ObjectIdentifier: SSERelay] = [:]
    private var closed = false

    /// Adds `relay`; a relay added after ``finishAll()`` is finished at once.
    func add(_ relay: SSERelay) {
        let late = lock.withLock { () -> Bool in
            if closed { return true }
            relays[ObjectIdentifier(relay)] = relay
            return false
        }
        if late { relay.finish() }
    }

    /// Forgets `relay` (its response ended).
    func remove(_ relay: SSERelay) {
        _ = lock.withLock { relays.removeValue(forKey: ObjectIdentifier(relay)) }
    }

    /// Ends every stream, now and from now on.
    func finishAll() {
        let open = lock.withLock { () -> [SSERelay] in
            closed = true
            defer { relays.removeAll() }
            return Array(relays.values)
        }
        for relay in open { relay.finish() }
    }
}

import Foundation

/// One SSE response as sent: the transport's events for the request, the request's own notifications (its
/// progress, which ``SessionTransport`` hands over with ``inject(_:)`` as the server sends them, so they come
/// before the answer), and a comment line whenever ``heartbeat`` passes with nothing else to send (proxies keep
/// the connection, and a write to a client that went away fails soon). ``finish()`` ends it from outside: a
/// session that closes ends all its streams.
final class SSERelay: @unchecked Sendable {
    private let heartbeat: Duration
    private let lock = NSLock()
    private var ended = false
    private var output: AsyncThrowingStream<Data, Swift.Error>.Continuation?
    private var pending: [Data] = []
    private var finished = false

    /// A relay that sends a keepalive comment after `heartbeat` of silence.
    init(heartbeat: Duration) {
        self.heartbeat = heartbeat
    }

    /// True once the transport's stream ended by itself (its answer was sent), not because the reader stopped.
    var sourceEnded: Bool { lock.withLock { ended } }

    /// Adds one event of the request's own (already formatted as SSE), in the order it comes.
    func inject(_ event: Data) {
        let continuation: AsyncThrowingStream<Data, Swift.Error>.Continuation? = lock.withLock {
            if finished { return nil }
            if output == nil { pending.append(event) }
            return output
        }
        continuation?.yield(event)
    }

    /// Ends the relay now (the session closed): the response ends after what was already sent.
    func finish() {
        let continuation: AsyncThrowingStream<Data, Swift.Error>.Continuation? = lock.withLock {
            finished = true
            return output
        }
        continuation?.finish()
    }

    /// The bytes to write for `stream`, in order.
    func chunks(of stream: AsyncThrowingStream<Data, Swift.Error>) -> AsyncThrowingStream<Data, Swift.Error> {
        let (chunks, continuation) = AsyncThrowingStream<Data, Swift.Error>.makeStream()
        let (early, waiting) = lock.withLock { () -> (Bool, [Data]) in
            output = continuation
            defer { pending.removeAll() }
            return (finished, pending)
        }
        for event in waiting { continuation.yield(event) }
        if early {
            continuation.finish()
            return chunks
        }
        let heartbeat = self.heartbeat
        let events = Task {
            do {
                for try await event in stream { continuation.yield(event) }
                if !Task.isCancelled { lock.withLock { ended = true } }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        let beats = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                if Task.isCancelled { break }
                continuation.yield(Data(": keepalive\n\n".utf8))
            }
        }
        continuation.onTermination = { _ in
            events.cancel()
            beats.cancel()
        }
        return chunks
    }
}

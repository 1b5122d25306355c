import Foundation

/// An SSE stream as sent: the transport's events, and a comment line whenever ``heartbeat`` passes with
/// nothing else to send (proxies keep the connection, and a write to a client that went away fails soon).
final class SSERelay: @unchecked Sendable {
    private let stream: AsyncThrowingStream<Data, Swift.Error>
    private let heartbeat: Duration
    private let lock = NSLock()
    private var ended = false

    init(stream: AsyncThrowingStream<Data, Swift.Error>, heartbeat: Duration) {
        self.stream = stream
        self.heartbeat = heartbeat
    }

    /// True once the transport's stream ended by itself (its answer was sent), not because the reader stopped.
    var sourceEnded: Bool { lock.withLock { ended } }

    /// The bytes to write, in order.
    func chunks() -> AsyncThrowingStream<Data, Swift.Error> {
        let (output, continuation) = AsyncThrowingStream<Data, Swift.Error>.makeStream()
        let source = stream, heartbeat = self.heartbeat
        let events = Task {
            do {
                for try await event in source { continuation.yield(event) }
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
        return output
    }
}

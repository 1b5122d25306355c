import Foundation
import InfraDomain

/// Appends to the audit log from many concurrent calls, committed together (group commit), over any
/// ``AuditSink``.
///
/// Each append used to be a transaction of its own, and a store has one writer: 500 concurrent tool calls
/// meant 1,000 transactions in a row, and on a loaded machine the answers waited for that queue longer than
/// for SSH. Here rows that arrive while a commit is running wait for the next one, which appends them all
/// in one batch, in arrival order. Every caller still returns only once its own row is committed, and a
/// failed commit fails every row of it: nothing is answered without its audit row, nothing is half-written.
public final class AuditRecorder: @unchecked Sendable {
    private let sink: any AuditSink
    private let lock = NSLock()
    private var pending: [(record: AuditChain.Record, done: CheckedContinuation<Void, any Error>)] = []
    private var committing = false

    /// A recorder appending to `sink`.
    public init(sink: any AuditSink) {
        self.sink = sink
    }

    /// Appends `record`; returns once it is committed, or throws the commit's error.
    public func record(_ record: AuditChain.Record) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let start: Bool = lock.withLock {
                pending.append((record, done))
                if committing { return false }
                committing = true
                return true
            }
            if start { Task { await self.commitWhilePending() } }
        }
    }

    private func commitWhilePending() async {
        while true {
            let batch: [(record: AuditChain.Record, done: CheckedContinuation<Void, any Error>)] = lock.withLock {
                defer { pending.removeAll() }
                if pending.isEmpty { committing = false }
                return pending
            }
            if batch.isEmpty { return }
            do {
                try await sink.append(batch.map(\.record))
                for item in batch { item.done.resume() }
            } catch {
                for item in batch { item.done.resume(throwing: error) }
            }
        }
    }
}

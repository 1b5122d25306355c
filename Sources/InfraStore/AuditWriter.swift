import Foundation
import GRDB

/// Appends to the audit log from many concurrent calls, committed together (group commit).
///
/// Each append used to be a transaction of its own, and the database has one writer: 500 concurrent tool
/// calls meant 1,000 transactions in a row, and on a loaded machine the answers waited for that queue
/// longer than for SSH. Here entries that arrive while a commit is running wait for the next one, which
/// writes them all in one transaction, in arrival order. Every caller still returns only once its own row
/// is committed, and a failed commit fails every entry of it: nothing is answered without its audit row,
/// and nothing is half-written.
public final class AuditWriter: @unchecked Sendable {
    private let database: StateDatabase
    private let lock = NSLock()
    private var pending: [(entry: AuditLog.Entry, done: CheckedContinuation<Void, any Error>)] = []
    private var committing = false

    /// A writer for the audit log of `database`.
    public init(database: StateDatabase) {
        self.database = database
    }

    /// Appends `entry`; returns once it is committed, or throws the commit's error.
    public func record(_ entry: AuditLog.Entry) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let start: Bool = lock.withLock {
                pending.append((entry, done))
                if committing { return false }
                committing = true
                return true
            }
            if start { Task { await self.commitWhilePending() } }
        }
    }

    private func commitWhilePending() async {
        while true {
            let batch: [(entry: AuditLog.Entry, done: CheckedContinuation<Void, any Error>)] = lock.withLock {
                defer { pending.removeAll() }
                if pending.isEmpty { committing = false }
                return pending
            }
            if batch.isEmpty { return }
            let entries = batch.map(\.entry)
            do {
                try await database.write { db in
                    let now = Date()
                    for entry in entries { try AuditLog.append(entry, in: db, at: now) }
                }
                for item in batch { item.done.resume() }
            } catch {
                for item in batch { item.done.resume(throwing: error) }
            }
        }
    }
}

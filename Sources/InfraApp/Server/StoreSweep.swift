import Foundation
import InfraDomain
import Logging

/// What every serving server does on the store at intervals, whatever the store and however many servers share
/// it: marks INTERRUPTED the runs whose owner is gone (``ActionWorkflow/recoverInterrupted()``: the lease passed,
/// or the owner's process on this machine is gone) and expires the proposals whose time ran out
/// (``ActionWorkflow/expireDue()``). Both decide again inside the store's transaction, so when several servers
/// sweep at once, whichever looks first writes each change, once; the others write nothing.
public struct StoreSweep: Sendable {
    let workflow: ActionWorkflow
    /// The time between two sweeps.
    public let interval: Duration

    /// A sweep over `workflow`'s store every `interval` (by default ``interval(forLease:)`` of its execution lease).
    public init(workflow: ActionWorkflow, interval: Duration? = nil) {
        self.workflow = workflow
        self.interval = interval ?? Self.interval(forLease: workflow.executionLease)
    }

    /// Half the execution lease, at most 30 seconds: a run whose server died is INTERRUPTED at most this long
    /// after its lease passed.
    public static func interval(forLease lease: Duration) -> Duration {
        min(lease / 2, .seconds(30))
    }

    /// What one sweep wrote (ids).
    public struct Swept: Sendable, Equatable {
        /// Runs this sweep marked INTERRUPTED.
        public var interrupted: [String]
        /// Proposals this sweep expired.
        public var expired: [String]

        /// A sweep's result.
        public init(interrupted: [String], expired: [String]) {
            self.interrupted = interrupted
            self.expired = expired
        }
    }

    /// One sweep now.
    @discardableResult
    public func once() throws -> Swept {
        Swept(interrupted: try workflow.recoverInterrupted(), expired: try workflow.expireDue())
    }

    /// Sweeps every ``interval`` until the task is cancelled, logging what it wrote; a store that fails is logged
    /// and tried again at the next interval.
    public func run(logger: Logger) async {
        while true {
            do { try await Task.sleep(for: interval) } catch { return }
            do {
                let swept = try once()
                if !swept.interrupted.isEmpty {
                    logger.warning("actions whose server is gone (lease passed or process gone) are now INTERRUPTED; they are not re-run",
                                   metadata: ["ids": "\(swept.interrupted)"])
                }
                if !swept.expired.isEmpty { logger.info("proposals expired", metadata: ["ids": "\(swept.expired)"]) }
            } catch {
                logger.error("store sweep failed; trying again at the next interval", metadata: ["error": "\(error)"])
            }
        }
    }

    /// A server's one background sweep: started once when the server starts serving, stopped when it drains.
    public final class Runner: @unchecked Sendable {
        private let lock = NSLock()
        private var task: Task<Void, Never>?

        /// A runner with no sweep yet.
        public init() {}

        /// Starts `sweep` in the background (nothing when one already runs).
        public func start(_ sweep: StoreSweep, logger: Logger) {
            lock.withLock {
                guard task == nil else { return }
                task = Task { await sweep.run(logger: logger) }
            }
        }

        /// True while a sweep runs.
        public var isRunning: Bool { lock.withLock { task != nil } }

        /// Stops the sweep and waits for it to return (at most one store sweep in progress).
        public func stop() async {
            let running: Task<Void, Never>? = lock.withLock {
                defer { task = nil }
                return task
            }
            running?.cancel()
            await running?.value
        }
    }
}

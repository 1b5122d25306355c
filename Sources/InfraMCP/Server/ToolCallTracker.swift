import Foundation

/// The tool calls a server is running, so that a stop can let them finish in order.
///
/// Once ``stopAccepting()`` ran, ``begin(tool:proposalID:)`` refuses new calls. A stop first waits for the
/// running `execute_pra_action` calls (the grace period), then for the rest. When the grace period runs
/// out, ``abandonExecutions()`` marks the executions left running: their results are not recorded, and
/// the action stays EXECUTING, exactly as after a crash, until any server marks it INTERRUPTED (its lease passed).
final class ToolCallTracker: @unchecked Sendable {
    /// One running call.
    struct Ticket: Sendable {
        fileprivate let id: UInt64
    }

    private let lock = NSLock()
    private var nextID: UInt64 = 0
    private var running: [UInt64: (tool: String, proposalID: String)] = [:]
    private var accepting = true
    private var abandoning = false

    /// Registers a call, or returns nil when the server no longer takes calls.
    func begin(tool: String, proposalID: String = "") -> Ticket? {
        lock.withLock {
            guard accepting else { return nil }
            nextID += 1
            running[nextID] = (tool, proposalID)
            return Ticket(id: nextID)
        }
    }

    /// Marks a call finished.
    func end(_ ticket: Ticket) {
        _ = lock.withLock { running.removeValue(forKey: ticket.id) }
    }

    /// Refuses every later call.
    func stopAccepting() {
        lock.withLock { accepting = false }
    }

    /// From now on a running execution that fails does not record a result (see the type's comment).
    func abandonExecutions() {
        lock.withLock { abandoning = true }
    }

    /// True once executions are abandoned.
    var isAbandoning: Bool { lock.withLock { abandoning } }

    /// The proposal ids of the executions running now.
    var runningExecutions: [String] {
        lock.withLock { running.values.filter { $0.tool == Self.executeTool }.map(\.proposalID).sorted() }
    }

    /// How many calls run now.
    var runningCount: Int { lock.withLock { running.count } }

    /// Waits until no execution runs, until `deadline`, or until executions are abandoned; true when none runs.
    func waitForExecutions(until deadline: ContinuousClock.Instant) async -> Bool {
        while !runningExecutions.isEmpty {
            if isAbandoning || ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Waits until no call runs, or until `deadline`; true when none runs.
    func waitForAll(until deadline: ContinuousClock.Instant) async -> Bool {
        while runningCount > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    static let executeTool = "execute_pra_action"
}

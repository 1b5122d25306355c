import Foundation
import InfraDomain

/// What a server records about its own life, whatever its transport: at start, the runs a stopped server
/// left EXECUTING become INTERRUPTED (never re-run) and the start is audited; while it serves, the same
/// recovery and the proposals' expiry at intervals (``sweep``); at stop, what was left running.
public struct ServerLifecycle: Sendable {
    let workflow: ActionWorkflow
    let recorder: AuditRecorder

    /// Creates the lifecycle over the workflow and the recorder.
    public init(workflow: ActionWorkflow, recorder: AuditRecorder) {
        self.workflow = workflow
        self.recorder = recorder
    }

    /// Recovers interrupted runs and audits the start; returns the ids marked INTERRUPTED.
    public func started(version: String) async throws -> [String] {
        let interrupted = try workflow.recoverInterrupted()
        try await recorder.record(.init(actor: workflow.actor, kind: "server", outcome: "started",
                                        detail: ["pid": String(getpid()), "version": version, "interrupted": interrupted.joined(separator: ",")]))
        return interrupted
    }

    /// The periodic sweep of the store while this server serves (interval from the execution lease).
    public var sweep: StoreSweep { StoreSweep(workflow: workflow) }

    /// Audits the stop: why, the runs left EXECUTING, and how many calls were still running.
    public func stopped(reason: String, leftExecuting: [String], callsStillRunning: Int) async throws {
        try await recorder.record(.init(actor: workflow.actor, kind: "server", outcome: "stopped",
                                        detail: ["pid": String(getpid()), "reason": reason, "leftExecuting": leftExecuting.joined(separator: ","),
                                                 "callsStillRunning": String(callsStillRunning)]))
    }
}

import Foundation
import InfraApp
import InfraDomain

/// The store operations one server does for one approved action, through the ports only: the proposal
/// inserted with its audit row, the approval (a decision, the approval window, PROPOSED → APPROVED and its
/// row), the claim (APPROVED → EXECUTING with the execution and its row), the finish (EXECUTING → COMPLETED
/// with the result and its row), and the action's tool calls' `ssh` rows, recorded through ``AuditRecorder``
/// so that concurrent workers' rows are group-committed as the server's are.
///
/// Each change is built directly as a ``ProposalChange`` (as the store conformance suite's `approve` and
/// `claim` do): no rule, no signature check, no SSH; what is timed is the store.
struct ActionCycle: Sendable {
    let store: any ActionStore
    let recorder: AuditRecorder
    /// Tool-call rows per action.
    let toolCalls: Int
    /// Written into every row and execution, so the rows of two processes can be told apart.
    let server: String

    static let catalogueVersion = "sha256:" + String(repeating: "c", count: 64)
    static let parameters = ["unit": "nginx.service"]

    /// What one cycle did: the audit rows it appended and how long each of its three updates took.
    struct Outcome {
        var auditRows: Int
        var updates: [Duration]
    }

    /// Runs one whole cycle on a new proposal; throws the first store error.
    func run() throws -> Outcome {
        let clock = ContinuousClock()
        let proposal = Self.proposal(id: UUID().uuidString.lowercased(), server: server, at: Date())
        try store.insert(proposal, audit: [row("state", outcome: "PROPOSED", proposalID: proposal.id)])
        var updates: [Duration] = []
        for change in [approval, claim, finish] {
            let started = clock.now
            _ = try store.update(proposal.id) { record, _ in try change(record) }
            updates.append(started.duration(to: clock.now))
        }
        try recordToolCalls(proposalID: proposal.id)
        return Outcome(auditRows: 4 + toolCalls, updates: updates)
    }

    /// PROPOSED → APPROVED with one decision and a 15-minute approval window.
    func approval(_ record: ProposalRecord) throws -> ProposalChange {
        try require(record, in: .proposed)
        let at = Date()
        return ProposalChange(transition: .init(from: .proposed, to: .approved, actor: "key:alice@example.org", reason: "1 of 1", at: at),
                              decision: .init(approver: "alice@example.org", approves: true, reason: "", digest: record.digest, at: at),
                              approval: (at, at + 900),
                              audit: [row("state", outcome: "APPROVED", proposalID: record.id)])
    }

    /// APPROVED → EXECUTING with this server's execution.
    func claim(_ record: ProposalRecord) throws -> ProposalChange {
        try require(record, in: .approved)
        let at = Date()
        return ProposalChange(transition: .init(from: .approved, to: .executing, actor: "mcp:bench", reason: "claimed by \(server)", at: at),
                              execution: .init(executor: "mcp:bench", owner: .init(host: server, pid: Int(getpid()), start: server,
                                                                                   leaseUntil: at + 60), startedAt: at),
                              audit: [row("state", outcome: "EXECUTING", proposalID: record.id)])
    }

    /// EXECUTING → COMPLETED with the execution's result.
    func finish(_ record: ProposalRecord) throws -> ProposalChange {
        try require(record, in: .executing)
        let at = Date()
        return ProposalChange(transition: .init(from: .executing, to: .completed, actor: "mcp:bench", reason: "exit 0", at: at),
                              execution: .init(executor: "mcp:bench", owner: .init(host: server, pid: Int(getpid()), start: server),
                                               startedAt: at, finishedAt: at, exitCode: 0, stdout: "", stderr: "",
                                               verification: "active", verified: "yes"),
                              audit: [row("state", outcome: "COMPLETED", proposalID: record.id)])
    }

    /// The action's tool calls' rows, all recorded at once and committed in the recorder's batches.
    func recordToolCalls(proposalID: String) throws {
        let rows = (0..<toolCalls).map { call in
            AuditChain.Record(actor: "mcp:bench", kind: "ssh", host: "t1", proposalID: proposalID, outcome: "ok",
                              detail: ["server": server, "request": "memory", "call": String(call), "exit": "0"])
        }
        let recorder = self.recorder
        try Blocking.await {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for row in rows { group.addTask { try await recorder.record(row) } }
                try await group.waitForAll()
            }
        }
    }

    func row(_ kind: String, outcome: String, proposalID: String) -> AuditChain.Record {
        AuditChain.Record(actor: "mcp:bench", kind: kind, host: "t1", action: "restart_service", proposalID: proposalID, outcome: outcome,
                          detail: ["server": server])
    }

    func require(_ record: ProposalRecord, in state: ActionLifecycle.State) throws {
        guard record.state == state else {
            throw Refusal(.wrongState, "proposal \(record.id) is \(record.state.rawValue), not \(state.rawValue): another writer changed it")
        }
    }

    /// A PROPOSED restart_service proposal created at `at`, expiring an hour later.
    static func proposal(id: String, server: String, at: Date) -> ProposalRecord {
        ProposalRecord(
            id: id, action: "restart_service", host: "t1", parameters: parameters, rationale: "nginx is down on t1", impact: "MEDIUM",
            catalogueVersion: catalogueVersion,
            digest: ApprovalDigest.compute(action: "restart_service", host: "t1", parameters: parameters, catalogueVersion: catalogueVersion),
            command: ["systemctl", "restart", "--", "nginx.service"], verification: ["systemctl", "is-active", "--quiet", "--", "nginx.service"],
            proposer: "svc", client: server, state: .proposed, requiredApprovals: 1, createdAt: at, expiresAt: at + 3600,
            transitions: [.init(from: nil, to: .proposed, actor: "mcp:bench", reason: "nginx is down on t1", at: at)])
    }
}

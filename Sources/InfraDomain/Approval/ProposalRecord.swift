import Foundation

/// One proposal as stored, with its decisions, its history and its execution.
public struct ProposalRecord: Sendable, Equatable, Codable {
    public var id: String
    public var action: String
    public var host: String
    public var parameters: [String: String]
    public var rationale: String
    public var impact: String
    public var catalogueVersion: String
    public var digest: String
    /// The exact argv pra-run runs as root on the host.
    public var command: [String]
    /// pra-run's own verification argv (root), or empty.
    public var verification: [String]
    /// The OS user the MCP server ran as when the AI proposed it.
    public var proposer: String
    /// The MCP client's name (clientInfo).
    public var client: String
    public var state: ActionLifecycle.State
    public var requiredApprovals: Int
    public var createdAt: Date
    public var expiresAt: Date
    public var approvedAt: Date?
    public var approvalExpiresAt: Date?
    public var decisions: [Decision]
    public var transitions: [Transition]
    public var execution: Execution?

    /// A human's approval or rejection.
    public struct Decision: Sendable, Equatable, Codable {
        /// Who decided: the verified principal of a signed approval, or the OS account of a rejection.
        public var approver: String
        public var approves: Bool
        public var reason: String
        /// The digest the approver saw and approved.
        public var digest: String
        public var at: Date
        /// The OS account that ran the CLI (recorded; never what makes an approval count).
        public var osAccount: String = ""
        /// The signed statement, for an approval.
        public var signed: SignedApproval?

        /// Creates a decision.
        public init(approver: String, approves: Bool, reason: String, digest: String, at: Date, osAccount: String = "",
                    signed: SignedApproval? = nil) {
            self.approver = approver
            self.approves = approves
            self.reason = reason
            self.digest = digest
            self.at = at
            self.osAccount = osAccount
            self.signed = signed
        }
    }

    /// One recorded state change.
    public struct Transition: Sendable, Equatable, Codable {
        public var from: ActionLifecycle.State?
        public var to: ActionLifecycle.State
        public var actor: String
        public var reason: String
        public var at: Date

        /// Creates a transition record.
        public init(from: ActionLifecycle.State?, to: ActionLifecycle.State, actor: String, reason: String, at: Date) {
            self.from = from
            self.to = to
            self.actor = actor
            self.reason = reason
            self.at = at
        }
    }

    /// The run on the host.
    public struct Execution: Sendable, Equatable, Codable {
        public var executor: String
        public var owner: ExecutionOwner
        public var startedAt: Date
        public var finishedAt: Date?
        public var exitCode: Int?
        public var stdout: String?
        public var stderr: String?
        /// What the read-only verification probe ran and saw.
        public var verification: String?
        /// `yes`, `no`, or `not-checked`.
        public var verified: String?

        /// Creates an execution record.
        public init(executor: String, owner: ExecutionOwner, startedAt: Date, finishedAt: Date? = nil, exitCode: Int? = nil,
                    stdout: String? = nil, stderr: String? = nil, verification: String? = nil, verified: String? = nil) {
            self.executor = executor
            self.owner = owner
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.exitCode = exitCode
            self.stdout = stdout
            self.stderr = stderr
            self.verification = verification
            self.verified = verified
        }
    }

    /// Creates a record.
    public init(id: String, action: String, host: String, parameters: [String: String], rationale: String, impact: String,
                catalogueVersion: String, digest: String, command: [String], verification: [String], proposer: String, client: String,
                state: ActionLifecycle.State, requiredApprovals: Int, createdAt: Date, expiresAt: Date, approvedAt: Date? = nil,
                approvalExpiresAt: Date? = nil, decisions: [Decision] = [], transitions: [Transition] = [], execution: Execution? = nil) {
        self.id = id
        self.action = action
        self.host = host
        self.parameters = parameters
        self.rationale = rationale
        self.impact = impact
        self.catalogueVersion = catalogueVersion
        self.digest = digest
        self.command = command
        self.verification = verification
        self.proposer = proposer
        self.client = client
        self.state = state
        self.requiredApprovals = requiredApprovals
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.approvedAt = approvedAt
        self.approvalExpiresAt = approvalExpiresAt
        self.decisions = decisions
        self.transitions = transitions
        self.execution = execution
    }

    /// Distinct approvals so far.
    public var approvals: Int { Set(decisions.filter(\.approves).map(\.approver)).count }
}

/// What an execution produced, to be stored when it finishes.
public struct ExecutionOutcome: Sendable, Equatable {
    public var exitCode: Int?
    public var stdout: String
    public var stderr: String
    public var verification: String
    public var verified: String
    public var succeeded: Bool

    /// Creates an outcome.
    public init(exitCode: Int?, stdout: String, stderr: String, verification: String, verified: String, succeeded: Bool) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.verification = verification
        self.verified = verified
        self.succeeded = succeeded
    }
}

/// The process that claimed an execution, so a later start can tell a dead owner from a live one.
public struct ExecutionOwner: Sendable, Equatable, Codable {
    public var host: String
    public var pid: Int
    /// The process start time (from /proc/PID/stat), so a reused PID is not mistaken for the owner.
    public var start: String
    /// Until when the owner holds the run: it renews this while the run goes on, and once it has passed any
    /// server sharing the store may mark the run INTERRUPTED (a PID on another machine cannot be checked).
    /// Nil for a run claimed by a release that kept no lease.
    public var leaseUntil: Date?

    /// Creates an owner.
    public init(host: String, pid: Int, start: String, leaseUntil: Date? = nil) {
        self.host = host
        self.pid = pid
        self.start = start
        self.leaseUntil = leaseUntil
    }
}

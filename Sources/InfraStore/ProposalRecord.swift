import Foundation
import InfraDomain

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
    }

    /// One recorded state change.
    public struct Transition: Sendable, Equatable, Codable {
        public var from: ActionLifecycle.State?
        public var to: ActionLifecycle.State
        public var actor: String
        public var reason: String
        public var at: Date
    }

    /// The run on the host.
    public struct Execution: Sendable, Equatable, Codable {
        public var executor: String
        public var ownerHost: String
        public var ownerPID: Int
        public var startedAt: Date
        public var finishedAt: Date?
        public var exitCode: Int?
        public var stdout: String?
        public var stderr: String?
        /// What the read-only verification probe ran and saw.
        public var verification: String?
        /// `yes`, `no`, or `not-checked`.
        public var verified: String?
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
public struct ExecutionOwner: Sendable, Equatable {
    public var host: String
    public var pid: Int
    /// The process start time (from /proc/PID/stat), so a reused PID is not mistaken for the owner.
    public var start: String

    /// Creates an owner.
    public init(host: String, pid: Int, start: String) {
        self.host = host
        self.pid = pid
        self.start = start
    }

    /// This process.
    public static var current: ExecutionOwner {
        let pid = Int(getpid())
        return ExecutionOwner(host: ProcessInfo.processInfo.hostName, pid: pid, start: startTime(of: pid) ?? "?")
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or nil when the process is gone.
    public static func startTime(of pid: Int) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, so start time (field 22) is index 19.
        guard fields.count > 19, fields[0] != "Z" else { return nil }
        return String(fields[19])
    }

    /// True when this owner's process still runs on this host (a different host cannot be checked: assume alive).
    public var isAlive: Bool {
        guard host == ProcessInfo.processInfo.hostName else { return true }
        return Self.startTime(of: pid) == start
    }
}

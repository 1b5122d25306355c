import Foundation
import InfraDomain
import PostgresNIO

/// Proposals, decisions, transitions and executions in the PostgreSQL state database: persistence only, the
/// same statements and meaning as the SQLite store. Every change is decided by the caller
/// (InfraDomain.ProposalRules) inside ``update(_:_:)``'s transaction, which first takes the audit lock
/// (``PostgresStateDatabase/withAuditLock(_:)``): updates run one at a time across every server sharing the
/// database, and `decide` sees the proposal and the chain as they stay until its change commits. The
/// transition's conditional UPDATE (`WHERE state = from`) is the exactly-once guard on top: a change decided on
/// a state that is no longer stored is refused, nothing of it written.
public struct PostgresActionStore: Sendable {
    let database: PostgresStateDatabase

    /// The store of a state database.
    public init(database: PostgresStateDatabase) {
        self.database = database
    }

    /// Inserts a new proposal with its transitions and `audit` rows, in one transaction.
    public func insert(_ record: ProposalRecord, audit: [AuditChain.Record]) throws {
        let parameters = try Self.json(record.parameters), command = try Self.json(record.command)
        let verification = try Self.json(record.verification)
        try database.write { session in
            if !audit.isEmpty { try PostgresStateDatabase.withAuditLock(session) }
            try session.run("""
                INSERT INTO proposal (id, action, host, parameters, rationale, impact, catalogue_version, digest, command, verification,
                  proposer, client, state, required_approvals, created_at, expires_at, updated_at)
                VALUES (\(record.id), \(record.action), \(record.host), \(parameters), \(record.rationale), \(record.impact),
                        \(record.catalogueVersion), \(record.digest), \(command), \(verification), \(record.proposer), \(record.client),
                        \(record.state.rawValue), \(record.requiredApprovals), \(Self.ms(record.createdAt)), \(Self.ms(record.expiresAt)),
                        \(Self.ms(record.createdAt)))
                """)
            for transition in record.transitions { try Self.insert(transition, id: record.id, in: session) }
            for row in audit { try PostgresAuditLog.append(row, in: session, at: record.createdAt) }
        }
    }

    /// One proposal with its decisions, transitions and execution; nil when there is none with this id.
    public func load(_ id: String) throws -> ProposalRecord? {
        // Four reads: under READ COMMITTED each would see its own snapshot; REPEATABLE READ gives them one.
        try database.read { session in
            try session.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            defer { do { try session.run("COMMIT") } catch { session.broken = true } }
            return try Self.load(session, id)
        }
    }

    /// The ids starting with `prefix`, in order, at most `limit`.
    public func ids(withPrefix prefix: String, limit: Int) throws -> [String] {
        let escaped = prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return try database.read { session in
            try session.rows("SELECT id FROM proposal WHERE id LIKE \(escaped + "%") ESCAPE '\\' ORDER BY id LIMIT \(Int64(max(0, limit)))")
                .map { try $0["id"].decode(String.self) }
        }
    }

    /// Proposals in the given states (all when empty), newest first.
    public func list(states: [ActionLifecycle.State]) throws -> [ProposalRecord] {
        try database.read { session in
            try session.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            defer { do { try session.run("COMMIT") } catch { session.broken = true } }
            let query: PostgresQuery = states.isEmpty
                ? "SELECT id FROM proposal ORDER BY created_at DESC, id"
                : "SELECT id FROM proposal WHERE state = ANY(\(states.map(\.rawValue))) ORDER BY created_at DESC, id"
            let ids = try session.rows(query).map { try $0["id"].decode(String.self) }
            return try ids.compactMap { try Self.load(session, $0) }
        }
    }

    /// How many proposals each state holds (one grouped count, no proposal loaded); an unknown state is left out.
    public func stateCounts() throws -> [ActionLifecycle.State: Int] {
        try database.read { session in
            try session.rows("SELECT state, COUNT(*) AS n FROM proposal GROUP BY state").reduce(into: [:]) { counts, row in
                if let state = ActionLifecycle.State(rawValue: try row["state"].decode(String.self)) {
                    counts[state] = Int(try row["n"].decode(Int64.self))
                }
            }
        }
    }

    /// Runs `decide` on the proposal as stored, inside one transaction that holds the audit lock, and writes
    /// the change it returns (nothing when it returns nil; nothing either when it throws). Returns the proposal
    /// and the audit head as committed.
    public func update(_ id: String, _ decide: (ProposalRecord, ChainView) throws -> ProposalChange?) throws
        -> (record: ProposalRecord, head: AuditChain.Anchor?) {
        try database.write { session in
            try PostgresStateDatabase.withAuditLock(session)
            guard let record = try Self.load(session, id) else { throw Refusal(.notFound, "no action with id '\(id)'") }
            if let change = try decide(record, try PostgresAuditLog.view(session)) { try Self.apply(change, to: record, in: session) }
            guard let stored = try Self.load(session, id) else { throw Refusal(.notFound, "no action with id '\(id)'") }
            return (stored, try session.appendedHead ?? PostgresAuditLog.head(session))
        }
    }

    static func apply(_ change: ProposalChange, to record: ProposalRecord, in session: PostgresSession) throws {
        let date = change.transition?.at ?? change.decision?.at ?? Date()
        if let decision = change.decision {
            try session.run("""
                INSERT INTO decision (proposal_id, approver, approves, reason, digest, at, os_account, statement, signature)
                VALUES (\(record.id), \(decision.approver), \(decision.approves), \(decision.reason), \(decision.digest), \(ms(decision.at)),
                        \(decision.osAccount), \(decision.signed?.statement), \(decision.signed?.signature))
                """)
        }
        if let approval = change.approval {
            try session.run("""
                UPDATE proposal SET approved_at = \(ms(approval.approvedAt)), approval_expires_at = \(ms(approval.expiresAt)) WHERE id = \(record.id)
                """)
        }
        if let run = change.execution {
            if record.execution == nil {
                try session.run("""
                    INSERT INTO execution (proposal_id, executor, owner_host, owner_pid, owner_start, started_at)
                    VALUES (\(record.id), \(run.executor), \(run.owner.host), \(Int64(run.owner.pid)), \(run.owner.start), \(ms(run.startedAt)))
                    """)
            }
            try session.run("""
                UPDATE execution SET owner_lease_until = \(run.owner.leaseUntil.map(ms)), finished_at = \(run.finishedAt.map(ms)),
                  exit_code = \(run.exitCode.map(Int64.init)), stdout = \(run.stdout), stderr = \(run.stderr), verification = \(run.verification),
                  verified = \(run.verified)
                WHERE proposal_id = \(record.id)
                """)
        }
        if let transition = change.transition {
            // Written only if the proposal is still in the state the rules saw (a NULL `from` matches nothing).
            let updated = try session.run("""
                UPDATE proposal SET state = \(transition.to.rawValue), updated_at = \(ms(transition.at))
                WHERE id = \(record.id) AND state = \(transition.from?.rawValue)
                """)
            guard updated.metadata.rows == 1 else { throw Refusal(.wrongState, "the action changed state meanwhile; read it again") }
            try insert(transition, id: record.id, in: session)
        }
        for row in change.audit { try PostgresAuditLog.append(row, in: session, at: date) }
    }

    static func insert(_ transition: ProposalRecord.Transition, id: String, in session: PostgresSession) throws {
        try session.run("""
            INSERT INTO transition (proposal_id, from_state, to_state, actor, reason, at)
            VALUES (\(id), \(transition.from?.rawValue), \(transition.to.rawValue), \(transition.actor), \(transition.reason), \(ms(transition.at)))
            """)
    }

    static func load(_ session: PostgresSession, _ id: String) throws -> ProposalRecord? {
        guard let row = try session.rows("SELECT * FROM proposal WHERE id = \(id)").first else { return nil }
        let stateText = try row["state"].decode(String.self)
        guard let state = ActionLifecycle.State(rawValue: stateText) else {
            throw Refusal(.wrongState, "the stored state '\(stateText)' of \(id) is unknown")
        }
        let decisions = try session.rows("SELECT * FROM decision WHERE proposal_id = \(id) ORDER BY at, approver").map { row in
            let statement = try row["statement"].decode(String?.self), signature = try row["signature"].decode(String?.self)
            return ProposalRecord.Decision(approver: try row["approver"].decode(String.self), approves: try row["approves"].decode(Bool.self),
                                           reason: try row["reason"].decode(String.self), digest: try row["digest"].decode(String.self),
                                           at: date(try row["at"].decode(Int64.self)), osAccount: try row["os_account"].decode(String.self),
                                           signed: statement.flatMap { text in signature.map { SignedApproval(statement: text, signature: $0) } })
        }
        let transitions = try session.rows("SELECT * FROM transition WHERE proposal_id = \(id) ORDER BY id").map { row in
            ProposalRecord.Transition(from: try row["from_state"].decode(String?.self).flatMap(ActionLifecycle.State.init(rawValue:)),
                                      to: ActionLifecycle.State(rawValue: try row["to_state"].decode(String.self)) ?? .failed,
                                      actor: try row["actor"].decode(String.self), reason: try row["reason"].decode(String.self),
                                      at: date(try row["at"].decode(Int64.self)))
        }
        let execution = try session.rows("SELECT * FROM execution WHERE proposal_id = \(id)").first.map { row in
            ProposalRecord.Execution(
                executor: try row["executor"].decode(String.self),
                owner: ExecutionOwner(host: try row["owner_host"].decode(String.self), pid: Int(try row["owner_pid"].decode(Int64.self)),
                                      start: try row["owner_start"].decode(String.self),
                                      leaseUntil: try row["owner_lease_until"].decode(Int64?.self).map(date)),
                startedAt: date(try row["started_at"].decode(Int64.self)), finishedAt: try row["finished_at"].decode(Int64?.self).map(date),
                exitCode: try row["exit_code"].decode(Int64?.self).map { Int($0) }, stdout: try row["stdout"].decode(String?.self),
                stderr: try row["stderr"].decode(String?.self), verification: try row["verification"].decode(String?.self),
                verified: try row["verified"].decode(String?.self))
        }
        return ProposalRecord(
            id: id, action: try row["action"].decode(String.self), host: try row["host"].decode(String.self),
            parameters: try decode(try row["parameters"].decode(String.self)), rationale: try row["rationale"].decode(String.self),
            impact: try row["impact"].decode(String.self), catalogueVersion: try row["catalogue_version"].decode(String.self),
            digest: try row["digest"].decode(String.self), command: try decode(try row["command"].decode(String.self)),
            verification: try decode(try row["verification"].decode(String.self)), proposer: try row["proposer"].decode(String.self),
            client: try row["client"].decode(String.self), state: state, requiredApprovals: Int(try row["required_approvals"].decode(Int64.self)),
            createdAt: date(try row["created_at"].decode(Int64.self)), expiresAt: date(try row["expires_at"].decode(Int64.self)),
            approvedAt: try row["approved_at"].decode(Int64?.self).map(date),
            approvalExpiresAt: try row["approval_expires_at"].decode(Int64?.self).map(date),
            decisions: decisions, transitions: transitions, execution: execution)
    }

    static func json<T: Encodable>(_ value: T) throws -> String { try StoredValue.json(value) }
    static func decode<T: Decodable>(_ text: String) throws -> T { try StoredValue.decode(text) }
    static func ms(_ date: Date) -> Int64 { StoredValue.milliseconds(date) }
    static func date(_ ms: Int64) -> Date { StoredValue.date(ms) }
}

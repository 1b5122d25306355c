import Foundation
import GRDB
import InfraDomain

/// Proposals, decisions, transitions and executions in the SQLite state database: persistence only. Every
/// change is decided by the caller (InfraDomain.ProposalRules) inside ``update(_:_:)``'s IMMEDIATE write
/// transaction, which SQLite runs one at a time across every process sharing the file; that is what makes a
/// claim exactly-once. This type writes what it is given and nothing else: no rule, no actor name.
public struct SQLiteActionStore: Sendable {
    let database: StateDatabase

    /// The store of a state database.
    public init(database: StateDatabase) {
        self.database = database
    }

    /// Inserts a new proposal with its transitions and `audit` rows, in one transaction.
    public func insert(_ record: ProposalRecord, audit: [AuditChain.Record]) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO proposal (id, action, host, parameters, rationale, impact, catalogue_version, digest, command, verification,
                  proposer, client, state, required_approvals, created_at, expires_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.id, record.action, record.host, try Self.json(record.parameters), record.rationale, record.impact,
                                 record.catalogueVersion, record.digest, try Self.json(record.command), try Self.json(record.verification),
                                 record.proposer, record.client, record.state.rawValue, record.requiredApprovals, Self.ms(record.createdAt),
                                 Self.ms(record.expiresAt), Self.ms(record.createdAt)])
            for transition in record.transitions { try Self.insert(transition, id: record.id, in: db) }
            for row in audit { try SQLiteAuditLog.append(row, in: db, at: record.createdAt) }
        }
    }

    /// One proposal with its decisions, transitions and execution; nil when there is none with this id.
    public func load(_ id: String) throws -> ProposalRecord? {
        try database.read { db in try Self.load(db, id) }
    }

    /// The ids starting with `prefix`, in order, at most `limit`.
    public func ids(withPrefix prefix: String, limit: Int) throws -> [String] {
        let escaped = prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return try database.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM proposal WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
                                arguments: [escaped + "%", limit])
        }
    }

    /// Proposals in the given states (all when empty), newest first.
    public func list(states: [ActionLifecycle.State]) throws -> [ProposalRecord] {
        try database.read { db in
            let filter = states.isEmpty ? "" : " WHERE state IN (\(states.map { _ in "?" }.joined(separator: ",")))"
            let ids = try String.fetchAll(db, sql: "SELECT id FROM proposal\(filter) ORDER BY created_at DESC, id",
                                          arguments: StatementArguments(states.map(\.rawValue)))
            return try ids.compactMap { try Self.load(db, $0) }
        }
    }

    /// How many proposals each state holds (one grouped count, no proposal loaded); an unknown state is left out.
    public func stateCounts() throws -> [ActionLifecycle.State: Int] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM proposal GROUP BY state").reduce(into: [:]) { counts, row in
                if let state = ActionLifecycle.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
        }
    }

    /// Runs `decide` on the proposal as stored, inside one IMMEDIATE write transaction, and writes the change
    /// it returns (nothing when it returns nil; nothing either when it throws). Returns the proposal and the
    /// audit head as committed.
    public func update(_ id: String, _ decide: (ProposalRecord, ChainView) throws -> ProposalChange?) throws
        -> (record: ProposalRecord, head: AuditChain.Anchor?) {
        try database.write { db in
            guard let record = try Self.load(db, id) else { throw Refusal(.notFound, "no action with id '\(id)'") }
            if let change = try decide(record, try SQLiteAuditLog.view(db)) { try Self.apply(change, to: record, in: db) }
            guard let stored = try Self.load(db, id) else { throw Refusal(.notFound, "no action with id '\(id)'") }
            return (stored, try SQLiteAuditLog.head(db))
        }
    }

    static func apply(_ change: ProposalChange, to record: ProposalRecord, in db: Database) throws {
        let date = change.transition?.at ?? change.decision?.at ?? Date()
        if let decision = change.decision {
            try db.execute(sql: """
                INSERT INTO decision (proposal_id, approver, approves, reason, digest, at, os_account, statement, signature)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.id, decision.approver, decision.approves, decision.reason, decision.digest, ms(decision.at),
                                 decision.osAccount, decision.signed?.statement, decision.signed?.signature])
        }
        if let approval = change.approval {
            try db.execute(sql: "UPDATE proposal SET approved_at = ?, approval_expires_at = ? WHERE id = ?",
                           arguments: [ms(approval.approvedAt), ms(approval.expiresAt), record.id])
        }
        if let run = change.execution {
            if record.execution == nil {
                try db.execute(sql: """
                    INSERT INTO execution (proposal_id, executor, owner_host, owner_pid, owner_start, started_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [record.id, run.executor, run.owner.host, run.owner.pid, run.owner.start, ms(run.startedAt)])
            }
            try db.execute(sql: """
                UPDATE execution SET owner_lease_until = ?, finished_at = ?, exit_code = ?, stdout = ?, stderr = ?, verification = ?, verified = ?
                WHERE proposal_id = ?
                """, arguments: [run.owner.leaseUntil.map(ms), run.finishedAt.map(ms), run.exitCode, run.stdout, run.stderr, run.verification,
                                 run.verified, record.id])
        }
        if let transition = change.transition {
            // Written only if the proposal is still in the state the rules saw.
            try db.execute(sql: "UPDATE proposal SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
                           arguments: [transition.to.rawValue, ms(transition.at), record.id, transition.from?.rawValue])
            guard db.changesCount == 1 else { throw Refusal(.wrongState, "the action changed state meanwhile; read it again") }
            try insert(transition, id: record.id, in: db)
        }
        for row in change.audit { try SQLiteAuditLog.append(row, in: db, at: date) }
    }

    static func insert(_ transition: ProposalRecord.Transition, id: String, in db: Database) throws {
        try db.execute(sql: "INSERT INTO transition (proposal_id, from_state, to_state, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [id, transition.from?.rawValue, transition.to.rawValue, transition.actor, transition.reason, ms(transition.at)])
    }

    static func load(_ db: Database, _ id: String) throws -> ProposalRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM proposal WHERE id = ?", arguments: [id]) else { return nil }
        guard let state = ActionLifecycle.State(rawValue: row["state"]) else {
            throw Refusal(.wrongState, "the stored state '\(row["state"] as String)' of \(id) is unknown")
        }
        let decisions = try Row.fetchAll(db, sql: "SELECT * FROM decision WHERE proposal_id = ? ORDER BY at, approver", arguments: [id]).map {
            let statement: String? = $0["statement"], signature: String? = $0["signature"]
            return ProposalRecord.Decision(approver: $0["approver"], approves: $0["approves"], reason: $0["reason"], digest: $0["digest"],
                                           at: date($0["at"]), osAccount: $0["os_account"],
                                           signed: statement.flatMap { text in signature.map { SignedApproval(statement: text, signature: $0) } })
        }
        let transitions = try Row.fetchAll(db, sql: "SELECT * FROM transition WHERE proposal_id = ? ORDER BY id", arguments: [id]).map {
            ProposalRecord.Transition(from: ($0["from_state"] as String?).flatMap(ActionLifecycle.State.init(rawValue:)),
                                      to: ActionLifecycle.State(rawValue: $0["to_state"]) ?? .failed, actor: $0["actor"],
                                      reason: $0["reason"], at: date($0["at"]))
        }
        let execution = try Row.fetchOne(db, sql: "SELECT * FROM execution WHERE proposal_id = ?", arguments: [id]).map {
            ProposalRecord.Execution(executor: $0["executor"],
                                     owner: ExecutionOwner(host: $0["owner_host"], pid: $0["owner_pid"], start: $0["owner_start"],
                                                           leaseUntil: ($0["owner_lease_until"] as Int64?).map(date)),
                                     startedAt: date($0["started_at"]), finishedAt: ($0["finished_at"] as Int64?).map(date),
                                     exitCode: $0["exit_code"], stdout: $0["stdout"], stderr: $0["stderr"],
                                     verification: $0["verification"], verified: $0["verified"])
        }
        return ProposalRecord(
            id: id, action: row["action"], host: row["host"], parameters: try decode(row["parameters"]), rationale: row["rationale"],
            impact: row["impact"], catalogueVersion: row["catalogue_version"], digest: row["digest"], command: try decode(row["command"]),
            verification: try decode(row["verification"]), proposer: row["proposer"], client: row["client"], state: state,
            requiredApprovals: row["required_approvals"], createdAt: date(row["created_at"]), expiresAt: date(row["expires_at"]),
            approvedAt: (row["approved_at"] as Int64?).map(date), approvalExpiresAt: (row["approval_expires_at"] as Int64?).map(date),
            decisions: decisions, transitions: transitions, execution: execution)
    }

    static func json<T: Encodable>(_ value: T) throws -> String { try StoredValue.json(value) }
    static func decode<T: Decodable>(_ text: String) throws -> T { try StoredValue.decode(text) }
    static func ms(_ date: Date) -> Int64 { StoredValue.milliseconds(date) }
    static func date(_ ms: Int64) -> Date { StoredValue.date(ms) }
}

import Foundation
import InfraDomain
import PostgresNIO

/// Takes another store's whole content into an empty PostgreSQL store (`store copy`): every proposal with its
/// decisions, transitions and execution, and every audit row with its own sequence number, time and hashes
/// (nothing sealed anew, so the chain's trigger accepts them only in order from genesis), in ONE transaction that
/// holds the audit lock, so no server can append a row between the emptiness check and the copy. A store that
/// already holds a proposal or an audit row is refused, nothing written. The login must be allowed to write every
/// table (the owner, or an administrator): the server's role may not write decisions. What was written is read back and verified by the caller (InfraApp.StoreCopy).
public struct PostgresStoreImport: Sendable {
    let database: PostgresStateDatabase

    /// The import into a state database.
    public init(database: PostgresStateDatabase) {
        self.database = database
    }

    /// Why an import was refused.
    public struct NotEmpty: Error, CustomStringConvertible {
        public var description: String { "the destination already holds proposals or audit rows; nothing was written" }
    }

    /// True when the store holds no proposal and no audit row.
    public func isEmpty() throws -> Bool {
        try database.read { session in try Self.isEmpty(session) }
    }

    static func isEmpty(_ session: PostgresSession) throws -> Bool {
        let row = try session.rows("SELECT (EXISTS (SELECT 1 FROM proposal) OR EXISTS (SELECT 1 FROM audit)) AS used").first
        return try row?["used"].decode(Bool.self) == false
    }

    /// Writes `proposals` and `audit` exactly as given, in one transaction; refuses a store that is not empty.
    public func importVerbatim(proposals: [ProposalRecord], audit: [AuditChain.Record]) throws {
        typealias Store = PostgresActionStore
        try database.write { session in
            try PostgresStateDatabase.withAuditLock(session)
            guard try Self.isEmpty(session) else { throw NotEmpty() }
            for record in proposals {
                let updated = record.transitions.map(\.at).max() ?? record.createdAt
                // An execution is recorded only while its proposal is APPROVED, and the proposal must have left APPROVED
                // by the commit (the triggers of migration v4): written as its claim wrote it, then given its own state.
                let state = record.execution == nil ? record.state : .approved
                try session.run("""
                    INSERT INTO proposal (id, action, host, parameters, rationale, impact, catalogue_version, digest, command, verification,
                      proposer, client, state, required_approvals, created_at, expires_at, approved_at, approval_expires_at, updated_at)
                    VALUES (\(record.id), \(record.action), \(record.host), \(try Store.json(record.parameters)), \(record.rationale),
                            \(record.impact), \(record.catalogueVersion), \(record.digest), \(try Store.json(record.command)),
                            \(try Store.json(record.verification)), \(record.proposer), \(record.client), \(state.rawValue),
                            \(record.requiredApprovals), \(Store.ms(record.createdAt)), \(Store.ms(record.expiresAt)),
                            \(record.approvedAt.map(Store.ms)), \(record.approvalExpiresAt.map(Store.ms)), \(Store.ms(updated)))
                    """)
                for decision in record.decisions {
                    try session.run("""
                        INSERT INTO decision (proposal_id, approver, approves, reason, digest, at, os_account, statement, signature)
                        VALUES (\(record.id), \(decision.approver), \(decision.approves), \(decision.reason), \(decision.digest),
                                \(Store.ms(decision.at)), \(decision.osAccount), \(decision.signed?.statement), \(decision.signed?.signature))
                        """)
                }
                for transition in record.transitions { try Store.insert(transition, id: record.id, in: session) }
                if let run = record.execution {
                    try session.run("""
                        INSERT INTO execution (proposal_id, executor, owner_host, owner_pid, owner_start, owner_lease_until, started_at,
                          finished_at, exit_code, stdout, stderr, verification, verified)
                        VALUES (\(record.id), \(run.executor), \(run.owner.host), \(Int64(run.owner.pid)), \(run.owner.start),
                                \(run.owner.leaseUntil.map(Store.ms)), \(Store.ms(run.startedAt)), \(run.finishedAt.map(Store.ms)),
                                \(run.exitCode.map(Int64.init)), \(run.stdout), \(run.stderr), \(run.verification), \(run.verified))
                        """)
                    try session.run("UPDATE proposal SET state = \(record.state.rawValue) WHERE id = \(record.id)")
                }
            }
            for row in audit {
                try session.run("""
                    INSERT INTO audit (seq, at, actor, kind, host, action, proposal_id, outcome, detail, previous_hash, hash)
                    VALUES (\(row.seq), \(row.at), \(row.actor), \(row.kind), \(row.host), \(row.action), \(row.proposalID),
                            \(row.outcome), \(row.detail), \(row.previousHash), \(row.hash))
                    """)
            }
            if let last = audit.last { session.appendedHead = AuditChain.Anchor(seq: last.seq, hash: last.hash) }
        }
    }
}

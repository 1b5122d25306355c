import InfraDomain
import Logging
import PostgresNIO

/// The shared state database on PostgreSQL (LINUX_MCP_DATABASE_URL): a small pool of connections, the schema
/// checked (and, when allowed, migrated) when opened, and transactions for ``PostgresActionStore`` and
/// ``PostgresAuditLog``. Several servers on several machines share one database safely: see
/// ``withAuditLock(_:)`` for the audit chain and ``PostgresSchema`` for migrations.
///
/// Calls are synchronous, like the store ports: each statement blocks the calling thread for a round trip
/// (as GRDB's synchronous calls do on SQLite), never an event-loop thread.
public final class PostgresStateDatabase: Sendable {
    /// The advisory lock every transaction that appends audit rows or runs an update takes first ("mcp_audi").
    static let auditLock: Int64 = 0x6d63_705f_6175_6469

    /// Where the database is, for messages (never the password).
    public let endpoint: String
    let pool: PostgresConnectionPool
    let witness: (@Sendable (AuditChain.Anchor) -> Void)?

    /// Connects (one connection, kept in the pool) and checks the schema: refused as newer when it holds a
    /// migration this release does not know; migrated when older and `migrate` is true (the role must own the
    /// schema); refused as too old when `migrate` is false or the role cannot migrate. With `witness`, every
    /// commit that appended audit rows then hands it the new head (the last row appended).
    public init(endpoint: PostgresEndpoint, witness: (@Sendable (AuditChain.Anchor) -> Void)? = nil, migrate: Bool = true,
                logger: Logger = Logger(label: "mcp-linux-infra.postgres")) throws(PostgresStoreError) {
        self.endpoint = endpoint.redacted
        self.witness = witness
        pool = try PostgresConnectionPool(endpoint: endpoint, logger: logger)
        do {
            try pool.withSession { session in try PostgresSchema.prepare(session, migrate: migrate) }
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            throw PostgresSession.storeError(error, endpoint: self.endpoint)
        }
    }

    /// Runs `body` in one transaction (READ COMMITTED): all of it is committed, or none of it. Errors of the
    /// body come back as they were thrown; the driver's as ``PostgresStoreError``.
    func write<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        let (result, head): (T, AuditChain.Anchor?) = try session { session in
            let result = try session.transaction(body)
            return (result, session.appendedHead)
        }
        if let head, let witness { witness(head) }
        return result
    }

    /// Runs `body` on a connection outside any explicit transaction (reads: each statement sees what was
    /// committed before it).
    func read<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try session(body)
    }

    private func session<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        do {
            return try pool.withSession(body)
        } catch let error as PSQLError {
            throw PostgresSession.storeError(error, endpoint: endpoint)
        }
    }

    /// Takes the audit lock inside the open transaction: `pg_advisory_xact_lock`, held until COMMIT or ROLLBACK.
    ///
    /// Why this keeps the chain one line across any number of servers: every transaction that appends audit
    /// rows, and every ``PostgresActionStore/update(_:_:)``, takes this one lock FIRST, before reading
    /// anything. Under READ COMMITTED each later statement takes a fresh snapshot, so once the lock is held
    /// the head read (`ORDER BY seq DESC LIMIT 1`) is the head every earlier holder committed, and no other
    /// appender can commit a row until this transaction ends. So each row is sealed to the real previous row,
    /// sequence numbers have no gap or fork, and `decide` sees the proposal and the chain as they stay until
    /// its change commits. The lock is a number, not a row: it needs no grant and no table lock.
    static func withAuditLock(_ session: PostgresSession) throws(PostgresStoreError) {
        try session.run("SELECT pg_advisory_xact_lock(\(auditLock))")
    }
}

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
    /// How long a statement waits for a lock (the audit lock, the migration lock, a row) before it fails, unless
    /// ``init(endpoint:witness:migrate:lockTimeout:logger:)`` is given another: long enough for any honest
    /// transaction of the store, short enough that a held lock is an error an operator sees.
    public static let lockTimeout: Duration = .seconds(30)

    /// Where the database is, for messages (never the password).
    public let endpoint: String
    let pool: PostgresConnectionPool
    let witness: (@Sendable (AuditChain.Anchor) -> Void)?

    /// Connects (one connection, kept in the pool) and checks the schema: refused as newer when it holds a
    /// migration this release does not know; migrated when older and `migrate` is true (the role must own the
    /// schema); refused as too old when `migrate` is false or the role cannot migrate. With `witness`, every
    /// commit that appended audit rows then hands it the new head (the last row appended).
    /// `lockTimeout` bounds every wait for a lock on its connections (PostgreSQL's `lock_timeout`, set when each is
    /// opened): a wait longer than that fails with ``PostgresStoreError/lockTimeout(endpoint:detail:)``.
    public init(endpoint: DatabaseURL, witness: (@Sendable (AuditChain.Anchor) -> Void)? = nil, migrate: Bool = true,
                lockTimeout: Duration = PostgresStateDatabase.lockTimeout,
                logger: Logger = Logger(label: "mcp-linux-infra.postgres")) throws(PostgresStoreError) {
        self.endpoint = endpoint.description
        self.witness = witness
        pool = try PostgresConnectionPool(endpoint: endpoint, lockTimeout: lockTimeout, logger: logger)
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

    /// Takes the audit lock inside the open transaction: `SELECT ... FROM audit_lock WHERE id = 1 FOR UPDATE`, a
    /// row lock held until COMMIT or ROLLBACK.
    ///
    /// Why this keeps the chain one line across any number of servers: every transaction that appends audit
    /// rows, and every ``PostgresActionStore/update(_:_:)``, locks this one row FIRST, before reading anything.
    /// Under READ COMMITTED each later statement takes a fresh snapshot, so once the row is locked the head read
    /// (`ORDER BY seq DESC LIMIT 1`) is the head every earlier holder committed, and no other appender can commit
    /// a row until this transaction ends. So each row is sealed to the real previous row, sequence numbers have no
    /// gap or fork, and `decide` sees the proposal and the chain as they stay until its change commits.
    ///
    /// Why a row and not an advisory lock: `FOR UPDATE` needs the UPDATE privilege on `audit_lock`, which only the
    /// server's and reviewers' roles hold (``PostgresRoles/grantStatements(_:)``); an advisory lock needs no grant,
    /// so any login of the cluster (an auditor, another application) could hold it and stop every server. Those who
    /// may write the store can still hold it; the connection's `lock_timeout` then ends the wait with
    /// ``PostgresStoreError/lockTimeout(endpoint:detail:)``. The row never changes (a trigger refuses UPDATE and
    /// DELETE), and a store without it is refused rather than written unserialized.
    static func withAuditLock(_ session: PostgresSession) throws(PostgresStoreError) {
        let locked = try session.rows("SELECT id FROM audit_lock WHERE id = 1 FOR UPDATE")
        guard locked.count == 1 else {
            throw .server(endpoint: session.endpoint, sqlState: "P0002",
                          detail: "the audit lock's row (audit_lock, id 1) is missing; run `mcp-linux-infra store init-postgres --apply` as the owner")
        }
    }
}

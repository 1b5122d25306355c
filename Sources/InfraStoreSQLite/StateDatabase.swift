import Foundation
import Glibc
import GRDB

/// The server's SQLite file (LINUX_MCP_DB): WAL mode, versioned migrations, shared safely by several server
/// processes and the CLI. A file written by a newer release is refused before anything is changed.
public final class StateDatabase: Sendable {
    /// The connection pool (one writer at a time across processes; readers never block it).
    let pool: DatabasePool
    /// The file's path.
    public let path: String

    /// The migrations this release knows, oldest first.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-proposals-approvals-executions-audit") { db in
            try db.execute(sql: """
            CREATE TABLE proposal (
              id TEXT PRIMARY KEY NOT NULL,
              action TEXT NOT NULL,
              host TEXT NOT NULL,
              parameters TEXT NOT NULL,
              rationale TEXT NOT NULL,
              impact TEXT NOT NULL,
              catalogue_version TEXT NOT NULL,
              digest TEXT NOT NULL,
              command TEXT NOT NULL,
              verification TEXT NOT NULL,
              proposer TEXT NOT NULL,
              client TEXT NOT NULL,
              state TEXT NOT NULL,
              required_approvals INTEGER NOT NULL,
              created_at INTEGER NOT NULL,
              expires_at INTEGER NOT NULL,
              approved_at INTEGER,
              approval_expires_at INTEGER,
              updated_at INTEGER NOT NULL
            );
            CREATE INDEX proposal_state ON proposal(state);
            CREATE TABLE decision (
              proposal_id TEXT NOT NULL REFERENCES proposal(id),
              approver TEXT NOT NULL,
              approves INTEGER NOT NULL,
              reason TEXT NOT NULL,
              digest TEXT NOT NULL,
              at INTEGER NOT NULL,
              PRIMARY KEY (proposal_id, approver)
            );
            CREATE TABLE transition (
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              proposal_id TEXT NOT NULL REFERENCES proposal(id),
              from_state TEXT,
              to_state TEXT NOT NULL,
              actor TEXT NOT NULL,
              reason TEXT NOT NULL,
              at INTEGER NOT NULL
            );
            CREATE TABLE execution (
              proposal_id TEXT PRIMARY KEY NOT NULL REFERENCES proposal(id),
              executor TEXT NOT NULL,
              owner_host TEXT NOT NULL,
              owner_pid INTEGER NOT NULL,
              owner_start TEXT NOT NULL,
              started_at INTEGER NOT NULL,
              finished_at INTEGER,
              exit_code INTEGER,
              stdout TEXT,
              stderr TEXT,
              verification TEXT,
              verified TEXT
            );
            CREATE TABLE audit (
              seq INTEGER PRIMARY KEY,
              at TEXT NOT NULL,
              actor TEXT NOT NULL,
              kind TEXT NOT NULL,
              host TEXT NOT NULL,
              action TEXT NOT NULL,
              proposal_id TEXT NOT NULL,
              outcome TEXT NOT NULL,
              detail TEXT NOT NULL,
              previous_hash TEXT NOT NULL,
              hash TEXT NOT NULL
            );
            CREATE INDEX audit_host ON audit(host);
            CREATE INDEX audit_proposal ON audit(proposal_id);
            CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
              BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
              BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            CREATE TRIGGER transition_append_only_update BEFORE UPDATE ON transition
              BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
            CREATE TRIGGER transition_append_only_delete BEFORE DELETE ON transition
              BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
            """)
        }
        migrator.registerMigration("v2-signed-approvals") { db in
            // An approval is now a statement signed by the approver's SSH key; `approver` holds the verified
            // principal, `os_account` the account that ran the CLI.
            try db.execute(sql: """
            ALTER TABLE decision ADD COLUMN os_account TEXT NOT NULL DEFAULT '';
            ALTER TABLE decision ADD COLUMN statement TEXT;
            ALTER TABLE decision ADD COLUMN signature TEXT;
            """)
        }
        migrator.registerMigration("v3-execution-lease") { db in
            // Until when the owning server holds a run (ms since the epoch); it renews it while the run goes on.
            try db.execute(sql: "ALTER TABLE execution ADD COLUMN owner_lease_until INTEGER")
        }
        migrator.registerMigration("v4-finished-executions-immutable") { db in
            // A finished run is history; a running one changes only its lease and, once, its result; a run is
            // recorded only by its claim, while its proposal is APPROVED (the claim's INSERT precedes its state UPDATE).
            try db.execute(sql: """
            CREATE TRIGGER execution_finished_immutable BEFORE UPDATE ON execution WHEN OLD.finished_at IS NOT NULL
              BEGIN SELECT RAISE(ABORT, 'a finished execution is history and cannot change'); END;
            CREATE TRIGGER execution_owner_immutable BEFORE UPDATE ON execution
              WHEN OLD.finished_at IS NULL AND (NEW.proposal_id IS NOT OLD.proposal_id OR NEW.executor IS NOT OLD.executor OR NEW.owner_host IS NOT OLD.owner_host
                OR NEW.owner_pid IS NOT OLD.owner_pid OR NEW.owner_start IS NOT OLD.owner_start OR NEW.started_at IS NOT OLD.started_at)
              BEGIN SELECT RAISE(ABORT, 'an execution keeps its proposal, executor, owner and start: only its lease and result change'); END;
            CREATE TRIGGER execution_claimed BEFORE INSERT ON execution
              WHEN (SELECT state FROM proposal WHERE id = NEW.proposal_id) IS NOT 'APPROVED'
              BEGIN SELECT RAISE(ABORT, 'an execution is recorded only by its claim, while its proposal is APPROVED'); END;
            """)
        }
        return migrator
    }

    /// Opens (creating the file and its folder, 0700, when absent) and migrates the database. With `witness`,
    /// every commit that appends audit rows then sends the new head to it (``AuditHeadObserver``).
    ///
    /// Every open may write (the migrations, and WAL mode, whose `-wal` and `-shm` files SQLite creates beside the
    /// file even to read): an account that cannot write the file, its `-wal`/`-shm` or its folder is refused with
    /// ``StoreError/accessDenied(database:denied:need:)`` before anything is opened, so nothing is created; SQLite's
    /// own read-only, cannot-open and permission errors at open are reported the same way.
    public init(path: String, witness: AuditHeadWitness? = nil) throws(StoreError) {
        self.path = path
        if let (denied, need) = Self.accessProblem(path) { throw .accessDenied(database: path, denied: denied, need: need) }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw .unusable(path, "cannot create its folder: \(error.localizedDescription)")
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw Self.openError(error, path: path)
        }
        let migrator = Self.migrator
        let known = Set(migrator.migrations)
        do {
            let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
            let unknown = applied.subtracting(known)
            if !unknown.isEmpty { throw StoreError.newerSchema(path, unknown.sorted()) }
            try migrator.migrate(pool)
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.openError(error, path: path)
        }
        if let witness { pool.add(transactionObserver: AuditHeadObserver(witness: witness), extent: .databaseLifetime) }
    }

    /// Whether the file at `path` holds exactly the migrations this release knows, read through a read-only
    /// connection: nothing is written to the database file (SQLite may add its -wal and -shm beside it). False
    /// when it cannot be read, has no schema yet, or lacks a migration: then open it to migrate.
    public static func isMigrated(path: String) -> Bool {
        var configuration = Configuration()
        configuration.readonly = true
        guard let queue = try? DatabaseQueue(path: path, configuration: configuration),
              let applied = try? queue.read({ db in try migrator.appliedIdentifiers(db) }) else { return false }
        return applied == Set(migrator.migrations)
    }

    /// What this account may not do that opening `path` needs, as (the path that denies it, what is needed), or
    /// nil when it may: write the file and its `-wal` and `-shm` when they exist, and write in their folder (SQLite
    /// creates and removes the `-wal` and `-shm` there), or create that folder in the nearest one that exists.
    static func accessProblem(_ path: String) -> (denied: String, need: String)? {
        func allowed(_ target: String, _ mode: Int32) -> Bool { faccessat(AT_FDCWD, target, mode, AT_EACCESS) == 0 }
        func exists(_ target: String) -> Bool {
            var status = stat()
            return stat(target, &status) == 0 || errno != ENOENT
        }
        var folder = (path as NSString).deletingLastPathComponent
        if folder.isEmpty { folder = "." }
        var existing = folder
        while !exists(existing), existing != "/", existing != "." {
            existing = (existing as NSString).deletingLastPathComponent
            if existing.isEmpty { existing = "." }
        }
        var ancestor = existing.hasPrefix("/") ? "" : "."
        for component in existing.split(separator: "/") {
            ancestor += "/" + component
            if !allowed(ancestor, X_OK) { return (ancestor, "enter the folder \(ancestor)") }
        }
        guard allowed(existing, W_OK | X_OK) else {
            return existing == folder ? (folder, "write in the folder \(folder)")
                                      : (existing, "create the folder \(folder) in \(existing)")
        }
        for file in [path, path + "-wal", path + "-shm"] where exists(file) && !allowed(file, R_OK | W_OK) {
            return (file, "read and write \(file)")
        }
        return nil
    }

    /// SQLite's error at open as a StoreError: read-only, cannot open and permission errors as ``StoreError/accessDenied(database:denied:need:)``.
    static func openError(_ error: any Error, path: String) -> StoreError {
        if let error = error as? DatabaseError, [.SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM].contains(error.resultCode) {
            return .accessDenied(database: path, denied: path, need: "open it for writing (SQLite: \(error.message ?? "\(error.resultCode)"))")
        }
        return .unusable(path, String(describing: error))
    }

    /// The migrations applied to the file, oldest first.
    public func appliedMigrations() throws -> [String] {
        let migrator = Self.migrator
        return try pool.read { db in try migrator.appliedMigrations(db) }
    }

    /// Runs `body` in one IMMEDIATE write transaction: all of it is committed, or none of it.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    /// The same transaction, awaited: it runs on the database's own writer queue, so a caller on Swift's
    /// cooperative pool waits for its turn without blocking one of the pool's few threads.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    /// Runs `body` on a read-only snapshot.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }
}

/// Why the state database cannot be used (refusals of a use case are InfraDomain.Refusal).
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case unusable(String, String)
    /// This account cannot do `need` (a phrase naming `denied`: the database, its -wal/-shm or a folder): nothing was opened.
    case accessDenied(database: String, denied: String, need: String)
    case newerSchema(String, [String])
    /// The audit log's last row has the greatest sequence number there is: no row can follow it.
    case auditSequenceExhausted(Int64)

    public var description: String {
        switch self {
        case .unusable(let path, let problem): "state database \(path): \(problem) (LINUX_MCP_DB)"
        case .accessDenied(let path, _, let need):
            "state database \(path): permission denied: this account cannot \(need); nothing was opened or created (LINUX_MCP_DB)"
        case .newerSchema(let path, let unknown):
            "state database \(path) was written by a newer mcp-linux-infra (unknown migrations: \(unknown.joined(separator: ", "))); "
                + "nothing was changed. Run that newer release, or point LINUX_MCP_DB at another file"
        case .auditSequenceExhausted(let last):
            "the audit log's last row has sequence number \(last), the greatest there is, so no row can follow it; nothing was written. "
                + "Such a row was not written by mcp-linux-infra: run `mcp-linux-infra audit verify` and restore the state database "
                + "from a backup (LINUX_MCP_DB)"
        }
    }
}

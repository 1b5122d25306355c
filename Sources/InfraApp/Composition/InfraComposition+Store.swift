import Foundation
import InfraConfig
import InfraDomain
import InfraStorePostgres
import InfraStoreSQLite

// The PostgreSQL store's types meet the application's ports here, like SQLite's.
extension PostgresActionStore: ActionStore {}
extension PostgresAuditLog: AuditSink {}
extension PostgresStoreImport: StoreImport {}

/// The state store the settings select, opened: SQLite at `LINUX_MCP_DB`, or PostgreSQL at `LINUX_MCP_DATABASE_URL`.
package struct OpenedStore: Sendable {
    package let store: any ActionStore
    package let audit: any AuditSink
    /// The SQLite file, whose owner's journal entries witness the head; nil for PostgreSQL (this account's entries).
    package let file: String?
    /// The doctor's line for the store.
    package let status: @Sendable () -> StoreStatus
}

extension InfraComposition {
    /// Opens the store the settings select; every commit that appends audit rows sends the new head to the audit
    /// witness (LINUX_MCP_AUDIT_WITNESS).
    static func openStore(_ settings: Settings) throws(Failure) -> OpenedStore {
        try openStore(sqlitePath: settings.databasePath, url: settings.databaseURL,
                      witness: AuditHeadWitness(socketPath: settings.auditWitnessSocket))
    }

    /// Opens PostgreSQL at `url`, else the SQLite file at `sqlitePath`, as the server does; with `witness`, every
    /// commit that appends audit rows sends it the new head. bench/StoreBench opens its stores here, without one.
    package static func openStore(sqlitePath: String, url: DatabaseURL?, witness: AuditHeadWitness?) throws(Failure) -> OpenedStore {
        guard let url else {
            let database: StateDatabase
            do {
                database = try StateDatabase(path: sqlitePath, witness: witness)
            } catch {
                throw .store(storeProblem(error))
            }
            let path = sqlitePath
            return OpenedStore(store: SQLiteActionStore(database: database), audit: SQLiteAuditLog(database: database), file: path,
                               status: { StoreStatus.sqlite(path: path, database: database) })
        }
        var send: (@Sendable (AuditChain.Anchor) -> Void)?
        if let witness { send = { head in witness.send(head) } }
        let database = try openPostgres(url, witness: send)
        return OpenedStore(store: PostgresActionStore(database: database), audit: PostgresAuditLog(database: database), file: nil,
                           status: { StoreStatus.postgres(database) })
    }

    /// Whether the SQLite file at `path` holds every migration of this release, read without writing to it
    /// (setup opens it through ``openStore(sqlitePath:url:witness:)`` only when not, so a second run changes nothing).
    package static func sqliteIsMigrated(path: String) -> Bool {
        StateDatabase.isMigrated(path: path)
    }

    /// The SQLite store's error as the operator reads it: a permission problem names the account, the mode and owner
    /// of what denied it, and the fix (the setup command, or the group and modes of docs/ARCHITECTURE.md's layout).
    static func storeProblem(_ error: StoreError) -> String {
        guard case .accessDenied(let database, let denied, let need) = error else { return error.description }
        let account = FileAccess.account
        let folder = ConfiguredPath.folder(of: database)
        return "state database \(database): permission denied: account \(account) cannot \(need)"
            + (FileAccess.ownership(denied).map { " (\(denied): \($0))" } ?? "")
            + "; every command writes the file and creates its -wal and -shm files in its folder, even to read; "
            + "nothing was opened or created (LINUX_MCP_DB)\n"
            + "  fix: ask an operator to run `mcp-linux-infra setup --approver \(account)`, or give a group \(account) is in "
            + "the folder and the file: chgrp GROUP \(folder) \(database); chmod 2770 \(folder); chmod 0660 \(database)"
    }

    /// Connects to PostgreSQL and checks (or migrates, when the login may) its schema.
    static func openPostgres(_ url: DatabaseURL, witness: (@Sendable (AuditChain.Anchor) -> Void)? = nil) throws(Failure) -> PostgresStateDatabase {
        do {
            return try PostgresStateDatabase(endpoint: url, witness: witness)
        } catch {
            throw .store(error.description)
        }
    }

    /// `store init-postgres`: the SQL, and applying it over `LINUX_MCP_DATABASE_URL` (an administrator's login).
    public static func postgresSetup(envFile: String?) throws(Failure) -> PostgresSetup {
        let settings = try settings(envFile: envFile)
        let sql: String
        do { sql = try PostgresRoles.script() } catch { throw .store(error.description) }
        let url = settings.databaseURL
        return PostgresSetup(sql: sql) {
            guard let url else {
                throw Failure.configuration("LINUX_MCP_DATABASE_URL is none: set it to an administrator's postgres:// URL to apply, or print the SQL without --apply")
            }
            try PostgresRoles.apply(admin: url)
            return "roles, schema and grants applied on \(url)"
        }
    }

    /// `store copy --from sqlite:PATH [--to URL]`: the SQLite store, the PostgreSQL one (the URL given, else
    /// `LINUX_MCP_DATABASE_URL`), and the inventory whose approvers' keys verify the signatures.
    public static func storeCopy(envFile: String?, from path: String, to given: String?) throws(Failure) -> StoreCopy {
        let configuration: ReviewConfiguration
        do { configuration = try ConfigurationLoader.review(envFile: envFile) } catch { throw .configuration(error.description) }
        LogSetup.bootstrap(level: configuration.settings.logLevel)
        let url: DatabaseURL
        if let given {
            do { url = try DatabaseURL.parse(given) } catch { throw .configuration("--to: \(error.problem); \(error.fix)") }
        } else if let configured = configuration.settings.databaseURL {
            url = configured
        } else {
            throw .configuration("LINUX_MCP_DATABASE_URL is none and no --to was given: name the PostgreSQL store to copy into")
        }
        let path = ConfiguredPath.resolve(path, against: FileManager.default.currentDirectoryPath)
        switch FileAccess.find(path) {
        case .readable: break
        case .absent: throw .store("--from sqlite:\(path): no such file (the SQLite state database to copy; LINUX_MCP_DB of the old controller)")
        case .denied(let folder): throw .store("--from sqlite:" + FileAccess.denied(path, field: "the SQLite state database to copy", folder: folder).description)
        }
        let source: StateDatabase
        do { source = try StateDatabase(path: path) } catch { throw .store(storeProblem(error)) }
        let destination = try openPostgres(url)
        return StoreCopy(source: (SQLiteActionStore(database: source), SQLiteAuditLog(database: source)),
                         destination: (PostgresActionStore(database: destination), PostgresAuditLog(database: destination)),
                         importer: PostgresStoreImport(database: destination), inventory: configuration.inventory)
    }
}

/// `store init-postgres`: the SQL the store's roles and schema are made of, and the way to apply it.
public struct PostgresSetup: Sendable {
    /// The whole procedure as SQL (roles, schema as the owner, grants).
    public let sql: String
    /// Applies it over `LINUX_MCP_DATABASE_URL`; returns what was done.
    public let apply: @Sendable () throws -> String
}

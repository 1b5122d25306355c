import InfraDomain
import InfraStorePostgres
import InfraStoreSQLite

/// The doctor's one line for the state store: where it is, its schema, and (PostgreSQL) what the login may do.
public struct StoreStatus: Sendable, Equatable {
    /// False when the store cannot be read; a login that may rewrite history passes with a warning.
    public var passed: Bool
    /// The line, without its status word.
    public var detail: String
    /// Set when the store works but is not guarded as it should be.
    public var warning: String?

    /// A status from its parts.
    public init(passed: Bool, detail: String, warning: String? = nil) {
        self.passed = passed
        self.detail = detail
        self.warning = warning
    }

    /// The line for a terminal.
    public var line: String {
        "\(!passed ? "FAIL" : warning == nil ? "ok  " : "WARN")  store  \(detail)" + (warning.map { "; \($0)" } ?? "")
    }

    /// A SQLite file's status.
    static func sqlite(path: String, database: StateDatabase) -> StoreStatus {
        do {
            let migrations = try database.appliedMigrations()
            return StoreStatus(passed: true, detail: "sqlite \(path)  schema \(migrations.last ?? "none") (\(migrations.count) migrations)")
        } catch {
            return StoreStatus(passed: false, detail: "sqlite \(path): \(error)")
        }
    }

    /// A PostgreSQL store's status: the connection, the schema, and the login's privileges.
    static func postgres(_ database: PostgresStateDatabase) -> StoreStatus {
        let status: PostgresStoreStatus
        do {
            status = try database.status()
        } catch {
            return StoreStatus(passed: false, detail: "\(database.endpoint): \(error)")
        }
        let detail = "\(database.endpoint)  schema \(status.migrations.last ?? "none") (\(status.migrations.count) migrations)  login \(status.login)"
        if status.mayRewriteHistory {
            return StoreStatus(passed: true, detail: detail,
                               warning: "this login may UPDATE or DELETE audit rows or transitions (\(status.privileges.filter { $0.hasPrefix("audit:") || $0.hasPrefix("transition:") }.filter { !$0.hasSuffix(":INSERT") }.sorted().joined(separator: ", "))): "
                                   + "history is guarded by triggers only; run serve as a login in mcp_server (mcp-linux-infra store init-postgres, docs/POSTGRESQL.md)")
        }
        guard let role = status.role else {
            return StoreStatus(passed: true, detail: detail,
                               warning: "its privileges match none of the roles of store init-postgres (\(status.privileges.sorted().joined(separator: ", ")))")
        }
        let what = switch role {
        case "server": "server role: proposes, claims and appends; cannot write decisions, change or delete history"
        case "reviewer": "reviewer role: writes decisions; cannot claim executions, change or delete history"
        default: "auditor role: reads only"
        }
        return StoreStatus(passed: true, detail: detail + "  (\(what))")
    }
}

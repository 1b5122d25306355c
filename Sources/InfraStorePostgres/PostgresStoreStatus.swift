import InfraDomain
import PostgresNIO

/// What `doctor` shows of the PostgreSQL store: the schema as applied, the login, and what the database lets
/// that login do to the tables that matter (read from `has_table_privilege`, so it is what the server enforces,
/// whoever granted it).
public struct PostgresStoreStatus: Sendable, Equatable {
    /// The login (`current_user`).
    public var login: String
    /// The migrations applied, oldest first.
    public var migrations: [String]
    /// Privileges of the login, as `TABLE:PRIVILEGE` (e.g. `audit:UPDATE`), only those it holds among the checked ones.
    public var privileges: Set<String>

    /// The privileges checked: what each role must or must not hold.
    public static let checked = ["proposal:INSERT", "execution:INSERT", "decision:INSERT", "audit:INSERT", "audit:UPDATE", "audit:DELETE",
                                 "audit:TRUNCATE", "transition:UPDATE", "transition:DELETE"]

    /// True when the login may change or remove history (the owner, a superuser, or a grant beyond the roles').
    public var mayRewriteHistory: Bool {
        !privileges.isDisjoint(with: ["audit:UPDATE", "audit:DELETE", "audit:TRUNCATE", "transition:UPDATE", "transition:DELETE"])
    }

    /// Which of the product's roles the privileges match: server, reviewer, auditor, or nil.
    public var role: String? {
        guard !mayRewriteHistory else { return nil }
        switch (privileges.contains("proposal:INSERT"), privileges.contains("execution:INSERT"), privileges.contains("decision:INSERT"),
                privileges.contains("audit:INSERT")) {
        case (true, true, false, true): return "server"
        case (false, false, true, true): return "reviewer"
        case (false, false, false, false): return "auditor"
        default: return nil
        }
    }
}

extension PostgresStateDatabase {
    /// The login, the migrations applied and the login's privileges on the tables that matter.
    public func status() throws -> PostgresStoreStatus {
        try read { session in
            let login = try session.rows("SELECT current_user::text AS login").first?["login"].decode(String.self) ?? "?"
            let migrations = try session.rows("SELECT identifier FROM schema_migrations ORDER BY identifier").map { try $0["identifier"].decode(String.self) }
            var privileges: Set<String> = []
            for check in PostgresStoreStatus.checked {
                let parts = check.split(separator: ":").map(String.init)
                let row = try session.rows("SELECT has_table_privilege(\(parts[0]), \(parts[1])) AS held").first
                if try row?["held"].decode(Bool.self) == true { privileges.insert(check) }
            }
            return PostgresStoreStatus(login: login, migrations: migrations, privileges: privileges)
        }
    }
}

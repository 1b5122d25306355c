import InfraDomain
import Logging
import PostgresNIO

/// The roles the database itself enforces, as SQL: the text below IS the rule (``script(_:)`` prints it,
/// ``apply(admin:names:logger:)`` runs exactly these statements).
///
/// Four NOLOGIN group roles; logins are made members of one of them:
/// - the owner owns the schema's tables and runs the migrations (only it could ALTER or DROP them);
/// - the server reads everything, inserts proposals, transitions, executions and audit rows, updates a
///   proposal's state and an execution (claims, results, leases, expiry). It cannot write decisions, nor
///   UPDATE, DELETE or TRUNCATE audit rows or transitions: the server's account cannot rewrite history;
/// - reviewers read everything, insert decisions, transitions and audit rows, and update a proposal's state and
///   approval window. They cannot insert proposals or executions, nor change audit rows;
/// - auditors read.
/// The server and reviewers may also lock the audit lock's row (UPDATE on `audit_lock`); auditors may not.
/// Nothing is granted to PUBLIC: it loses CONNECT and TEMPORARY on the store's database and CREATE on schema
/// public (which clusters initdb'd before PostgreSQL 15 still grant), so a login in none of the four roles cannot
/// even connect. What the grants still allow is narrowed by the owner's triggers (PostgresSchema, v4).
public enum PostgresRoles {
    /// The four group roles' names.
    public struct Names: Sendable, Equatable {
        /// Owns the tables, runs migrations.
        public var owner: String
        /// The servers' group.
        public var server: String
        /// The reviewers' group.
        public var reviewer: String
        /// The auditors' group.
        public var auditor: String

        /// Four names (checked when used).
        public init(owner: String, server: String, reviewer: String, auditor: String) {
            self.owner = owner
            self.server = server
            self.reviewer = reviewer
            self.auditor = auditor
        }

        /// `mcp_owner`, `mcp_server`, `mcp_reviewer`, `mcp_auditor`.
        public static let standard = Names(owner: "mcp_owner", server: "mcp_server", reviewer: "mcp_reviewer", auditor: "mcp_auditor")

        var all: [String] { [owner, server, reviewer, auditor] }
    }

    /// Refuses a name that could not go into DDL as it is (DDL takes no binds): `^[a-z_][a-z0-9_]{0,62}$`.
    public static func validate(_ names: Names) throws(PostgresStoreError) {
        for name in names.all {
            let characters = Array(name.utf8)
            let first = characters.first.map { ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f } ?? false
            let rest = characters.dropFirst().allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
            guard first && rest && characters.count <= 63 else { throw .invalidRoleName(name) }
        }
    }

    /// Creates the group roles (when absent) and lets them use the schema; run as an administrator.
    public static func roleStatements(_ names: Names) throws(PostgresStoreError) -> [String] {
        try validate(names)
        return names.all.map { role in
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(role)') THEN CREATE ROLE \(role) NOLOGIN; END IF; END $$"
        } + [
            "GRANT USAGE, CREATE ON SCHEMA public TO \(names.owner)",
            "GRANT USAGE ON SCHEMA public TO \(names.server), \(names.reviewer), \(names.auditor)",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            // The database's name is not a constant and DDL takes no bind: quoted by format('%I') inside the server.
            """
            DO $$ BEGIN
              EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
              EXECUTE format('GRANT CONNECT ON DATABASE %I TO \(names.all.joined(separator: ", "))', current_database());
            END $$
            """,
        ] + PostgresSchema.tables.map { "ALTER TABLE IF EXISTS \($0) OWNER TO \(names.owner)" }
    }

    /// The table privileges, per table; run as the owner, after the migrations. Everything is revoked first, so
    /// running it again leaves exactly these grants.
    public static func grantStatements(_ names: Names) throws(PostgresStoreError) -> [String] {
        try validate(names)
        let tables = PostgresSchema.tables.joined(separator: ", ")
        let server = names.server, reviewer = names.reviewer
        return [
            "REVOKE ALL ON TABLE \(tables) FROM PUBLIC, \(server), \(reviewer), \(names.auditor)",
            "REVOKE ALL ON SEQUENCE transition_id_seq FROM PUBLIC, \(server), \(reviewer), \(names.auditor)",
            "GRANT SELECT ON TABLE \(tables) TO \(server), \(reviewer), \(names.auditor)",
            // The server: proposals, claims and results, expiry, audit rows. No decision; nothing rewritten.
            "GRANT INSERT ON TABLE proposal, transition, execution, audit TO \(server)",
            "GRANT UPDATE (state, updated_at) ON TABLE proposal TO \(server)",
            "GRANT UPDATE ON TABLE execution TO \(server)",
            // Reviewers: decisions and the approval window, with their transition and audit rows.
            "GRANT INSERT ON TABLE decision, transition, audit TO \(reviewer)",
            "GRANT UPDATE (state, updated_at, approved_at, approval_expires_at) ON TABLE proposal TO \(reviewer)",
            "GRANT USAGE, SELECT ON SEQUENCE transition_id_seq TO \(server), \(reviewer)",
            // The audit lock is `SELECT ... FOR UPDATE` of its one row: UPDATE is what lets a role hold it.
            "GRANT UPDATE ON TABLE audit_lock TO \(server), \(reviewer)",
        ]
    }

    /// The whole procedure as one SQL text (for `store init-postgres --print`): the roles as an administrator,
    /// the schema as the owner, then the grants.
    public static func script(_ names: Names = .standard) throws(PostgresStoreError) -> String {
        let roles = try roleStatements(names), grants = try grantStatements(names)
        let schema = PostgresSchema.migrations.flatMap { migration in
            ["-- migration \(migration.identifier)"] + migration.statements
                + ["INSERT INTO schema_migrations (identifier, applied_at) VALUES ('\(migration.identifier)', "
                   + "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)"]
        }
        func block(_ statements: [String]) -> String { statements.map { $0.hasPrefix("--") ? $0 : $0 + ";" }.joined(separator: "\n") }
        return """
            -- mcp-linux-infra: the PostgreSQL store's roles and privileges. Run as a superuser in the store's database.
            BEGIN;
            \(block(roles))
            SET ROLE \(names.owner);
            -- the schema (on a database that has none; `store init-postgres --apply` skips what is applied)
            CREATE TABLE IF NOT EXISTS schema_migrations (identifier TEXT COLLATE "C" PRIMARY KEY, applied_at BIGINT NOT NULL);
            \(block(schema))
            \(block(grants))
            RESET ROLE;
            COMMIT;
            """
    }

    /// Creates the roles, migrates the schema as the owner role (so it owns every table) and grants; `admin` must
    /// be a superuser, or a member of the owner role with the CREATEROLE privilege. Safe to run again.
    public static func apply(admin: DatabaseURL, names: Names = .standard,
                             logger: Logger = Logger(label: "mcp-linux-infra.postgres")) throws(PostgresStoreError) {
        let roles = try roleStatements(names), grants = try grantStatements(names)
        let pool = try PostgresConnectionPool(endpoint: admin, logger: logger)
        do {
            try pool.withSession { session in
                try session.transaction { session in
                    for statement in roles { try session.run(PostgresQuery(unsafeSQL: statement)) }
                }
                try session.run(PostgresQuery(unsafeSQL: "SET ROLE \(names.owner)"))
                defer { do { try session.run("RESET ROLE") } catch { session.broken = true } }
                try PostgresSchema.prepare(session, migrate: true)
                try session.transaction { session in
                    for statement in grants { try session.run(PostgresQuery(unsafeSQL: statement)) }
                }
            }
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            throw PostgresSession.storeError(error, endpoint: admin.description)
        }
    }
}

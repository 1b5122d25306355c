import PostgresNIO

/// The PostgreSQL schema and its migrations: the same tables, columns and meaning as the SQLite store's
/// (times as milliseconds since the epoch in BIGINT, audit rows sealed by InfraDomain.AuditChain), under the
/// same migration identifiers, recorded in `schema_migrations`.
///
/// Two servers starting together migrate once: the check and the migration run under a session-level
/// `pg_advisory_lock(`` migrationLock ``)`, so the second waits, then finds everything applied. An applied
/// identifier this release does not know refuses the database before anything is changed.
enum PostgresSchema {
    /// The advisory lock key held around check + migrate ("mcp_migr" as a number).
    static let migrationLock: Int64 = 0x6d63_705f_6d69_6772

    /// The migrations this release knows, oldest first: identifier and statements (one statement each, as the
    /// extended query protocol runs them).
    static let migrations: [(identifier: String, statements: [String])] = [
        ("v1-proposals-approvals-executions-audit", [
            """
            CREATE TABLE proposal (
              id TEXT COLLATE "C" PRIMARY KEY,
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
              required_approvals BIGINT NOT NULL,
              created_at BIGINT NOT NULL,
              expires_at BIGINT NOT NULL,
              approved_at BIGINT,
              approval_expires_at BIGINT,
              updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX proposal_state ON proposal(state)",
            """
            CREATE TABLE decision (
              proposal_id TEXT COLLATE "C" NOT NULL REFERENCES proposal(id),
              approver TEXT NOT NULL,
              approves BOOLEAN NOT NULL,
              reason TEXT NOT NULL,
              digest TEXT NOT NULL,
              at BIGINT NOT NULL,
              PRIMARY KEY (proposal_id, approver)
            )
            """,
            """
            CREATE TABLE transition (
              id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              proposal_id TEXT COLLATE "C" NOT NULL REFERENCES proposal(id),
              from_state TEXT,
              to_state TEXT NOT NULL,
              actor TEXT NOT NULL,
              reason TEXT NOT NULL,
              at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX transition_proposal ON transition(proposal_id)",
            """
            CREATE TABLE execution (
              proposal_id TEXT COLLATE "C" PRIMARY KEY REFERENCES proposal(id),
              executor TEXT NOT NULL,
              owner_host TEXT NOT NULL,
              owner_pid BIGINT NOT NULL,
              owner_start TEXT NOT NULL,
              started_at BIGINT NOT NULL,
              finished_at BIGINT,
              exit_code BIGINT,
              stdout TEXT,
              stderr TEXT,
              verification TEXT,
              verified TEXT
            )
            """,
            """
            CREATE TABLE audit (
              seq BIGINT PRIMARY KEY,
              at TEXT COLLATE "C" NOT NULL,
              actor TEXT NOT NULL,
              kind TEXT NOT NULL,
              host TEXT NOT NULL,
              action TEXT NOT NULL,
              proposal_id TEXT NOT NULL,
              outcome TEXT NOT NULL,
              detail TEXT NOT NULL,
              previous_hash TEXT NOT NULL,
              hash TEXT NOT NULL
            )
            """,
            "CREATE INDEX audit_host ON audit(host)",
            "CREATE INDEX audit_proposal ON audit(proposal_id)",
            // Append-only by trigger too (a raise_exception, P0001); the GRANTs of PostgresRoles are the real guard.
            """
            CREATE FUNCTION mcp_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END
            $$
            """,
            "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION mcp_append_only()",
            "CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION mcp_append_only()",
            "CREATE TRIGGER transition_append_only BEFORE UPDATE OR DELETE ON transition FOR EACH ROW EXECUTE FUNCTION mcp_append_only()",
            "CREATE TRIGGER transition_append_only_truncate BEFORE TRUNCATE ON transition FOR EACH STATEMENT EXECUTE FUNCTION mcp_append_only()",
        ]),
        // An approval is a statement signed by the approver's SSH key; `approver` holds the verified principal,
        // `os_account` the account that ran the CLI.
        ("v2-signed-approvals", [
            "ALTER TABLE decision ADD COLUMN os_account TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE decision ADD COLUMN statement TEXT",
            "ALTER TABLE decision ADD COLUMN signature TEXT",
        ]),
        // Until when the owning server holds a run (ms since the epoch); it renews it while the run goes on.
        ("v3-execution-lease", [
            "ALTER TABLE execution ADD COLUMN owner_lease_until BIGINT",
        ]),
    ]

    /// The tables the store owns, in the order they depend on each other.
    static let tables = ["schema_migrations", "proposal", "decision", "transition", "execution", "audit"]

    /// Checks the schema and, with `migrate`, applies what is missing, each migration in a transaction of its
    /// own, all under the migration lock. Throws `.newerSchema` (before any change) for an unknown applied
    /// identifier, `.schemaTooOld` when something is missing and may not or cannot be applied here.
    static func prepare(_ session: PostgresSession, migrate: Bool) throws(PostgresStoreError) {
        try session.run("SELECT pg_advisory_lock(\(migrationLock))")
        defer {
            do { try session.run("SELECT pg_advisory_unlock(\(migrationLock))") } catch { session.broken = true }
        }
        let exists = try session.rows("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").first?["present"]
        let present = (try? exists?.decode(Bool.self)) ?? false
        var applied: Set<String> = []
        if present {
            for row in try session.rows("SELECT identifier FROM schema_migrations") {
                if let identifier = try? row["identifier"].decode(String.self) { applied.insert(identifier) }
            }
        }
        let known = migrations.map(\.identifier)
        let unknown = applied.subtracting(known)
        if !unknown.isEmpty { throw .newerSchema(endpoint: session.endpoint, unknown: unknown.sorted()) }
        let missing = migrations.filter { !applied.contains($0.identifier) }
        guard !missing.isEmpty else { return }
        guard migrate else { throw .schemaTooOld(endpoint: session.endpoint, missing: missing.map(\.identifier)) }
        var tableCreated = present
        for migration in missing {
            do {
                try session.transaction { session in
                    if !tableCreated {
                        try session.run("""
                            CREATE TABLE schema_migrations (identifier TEXT COLLATE "C" PRIMARY KEY, applied_at BIGINT NOT NULL)
                            """)
                    }
                    for statement in migration.statements { try session.run(PostgresQuery(unsafeSQL: statement)) }
                    try session.run("""
                        INSERT INTO schema_migrations (identifier, applied_at)
                        VALUES (\(migration.identifier), (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)
                        """)
                }
                tableCreated = true
            } catch let error as PostgresStoreError where error.sqlState == "42501" {
                throw .schemaTooOld(endpoint: session.endpoint, missing: missing.map(\.identifier))
            } catch let error as PostgresStoreError {
                throw error
            } catch {
                throw PostgresSession.storeError(error, endpoint: session.endpoint)
            }
        }
    }
}

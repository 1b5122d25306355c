import InfraDomain
import PostgresNIO

/// The PostgreSQL schema and its migrations: the same tables, columns and meaning as the SQLite store's
/// (times as milliseconds since the epoch in BIGINT, audit rows sealed by InfraDomain.AuditChain), under the
/// same migration identifiers up to v3, recorded in `schema_migrations`. From v4 on each store has its own: here
/// `v4-database-enforced-history` (the audit lock row and the triggers that make the database refuse what the
/// roles alone allowed), on SQLite `v4-finished-executions-immutable`.
///
/// Two servers starting together migrate once: the check and the migration run under a session-level
/// `pg_advisory_lock(`` migrationLock ``)`, so the second waits, then finds everything applied. The lock is taken
/// before any table exists, so it cannot be a row lock; like every lock wait it is bounded by the connection's
/// `lock_timeout` (``PostgresStateDatabase/lockTimeout``), so a session holding it fails a start with
/// ``PostgresStoreError/lockTimeout(endpoint:detail:)`` instead of hanging. An applied
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
        // What the database itself refuses to the logins of the server's and reviewers' roles (issue 21's attack review):
        // the audit lock is a row only they may lock; the chain, finished runs, transition ids and the decision's writer
        // are checked by owner-owned triggers. Each trigger reads the tables through TG_TABLE_SCHEMA, never the caller's
        // search_path.
        ("v4-database-enforced-history", [
            // The audit lock (PostgresStateDatabase.withAuditLock): `SELECT ... FOR UPDATE` of this one row, which needs
            // UPDATE on the table, granted to the server's and reviewers' roles only. The row itself never changes.
            "CREATE TABLE audit_lock (id INTEGER PRIMARY KEY CHECK (id = 1))",
            "INSERT INTO audit_lock (id) VALUES (1)",
            "CREATE TRIGGER audit_lock_fixed BEFORE UPDATE OR DELETE ON audit_lock FOR EACH ROW EXECUTE FUNCTION mcp_append_only()",
            "CREATE TRIGGER audit_lock_fixed_truncate BEFORE TRUNCATE ON audit_lock FOR EACH STATEMENT EXECUTE FUNCTION mcp_append_only()",
            // Every audit row continues the chain: the next sequence number, sealed onto the head's hash (genesis first).
            // Appenders hold the audit lock, so the head cannot move under the check; two raw inserts race on the key.
            """
            CREATE FUNCTION mcp_audit_continues_chain() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
              head_seq BIGINT;
              head_hash TEXT;
            BEGIN
              EXECUTE format('SELECT seq, hash FROM %I.audit ORDER BY seq DESC LIMIT 1', TG_TABLE_SCHEMA) INTO head_seq, head_hash;
              IF head_seq IS NULL THEN
                head_seq := 0;
                head_hash := '\(AuditChain.genesis)';
              END IF;
              IF NEW.seq IS DISTINCT FROM head_seq + 1 OR NEW.previous_hash IS DISTINCT FROM head_hash THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                  MESSAGE = format('audit row %s does not continue the chain: the next row is %s, sealed onto the hash of row %s',
                                   NEW.seq, head_seq + 1, head_seq);
              END IF;
              RETURN NEW;
            END
            $$
            """,
            "CREATE TRIGGER audit_continues_chain BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION mcp_audit_continues_chain()",
            // Which login claimed a run (set by the claim's INSERT): only that login renews its lease or writes its result.
            "ALTER TABLE execution ADD COLUMN claimed_by TEXT",
            // A finished run is history; a running one changes only its lease and, once, its result, both by the login
            // that claimed it. Another server's login may only close it as interrupted (finished, not checked, no result).
            """
            CREATE FUNCTION mcp_execution_history() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF OLD.finished_at IS NOT NULL THEN
                RAISE EXCEPTION 'the execution of % finished: a finished run is history and cannot change', OLD.proposal_id;
              END IF;
              IF session_user IS DISTINCT FROM OLD.claimed_by AND (
                   NEW.owner_lease_until IS DISTINCT FROM OLD.owner_lease_until OR NEW.exit_code IS DISTINCT FROM OLD.exit_code
                   OR NEW.stdout IS DISTINCT FROM OLD.stdout OR NEW.stderr IS DISTINCT FROM OLD.stderr
                   OR NEW.verification IS DISTINCT FROM OLD.verification
                   OR NEW.verified IS DISTINCT FROM 'not-checked' OR NEW.finished_at IS NULL) THEN
                RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
                  MESSAGE = format('the execution of %s was claimed by login %s: only it renews the lease or writes the result; '
                                   'another login may only mark it interrupted', OLD.proposal_id, OLD.claimed_by);
              END IF;
              IF NEW.proposal_id IS DISTINCT FROM OLD.proposal_id OR NEW.executor IS DISTINCT FROM OLD.executor
                 OR NEW.owner_host IS DISTINCT FROM OLD.owner_host OR NEW.owner_pid IS DISTINCT FROM OLD.owner_pid
                 OR NEW.owner_start IS DISTINCT FROM OLD.owner_start OR NEW.started_at IS DISTINCT FROM OLD.started_at THEN
                RAISE EXCEPTION 'the execution of % keeps its proposal, executor, owner and start: only its lease and result change',
                  OLD.proposal_id;
              END IF;
              RETURN NEW;
            END
            $$
            """,
            "CREATE TRIGGER execution_history BEFORE UPDATE ON execution FOR EACH ROW EXECUTE FUNCTION mcp_execution_history()",
            // An execution is recorded by a claim only: its proposal is APPROVED when the row is inserted, and no longer
            // APPROVED when the transaction commits (the claim moves it to EXECUTING in the same transaction).
            """
            CREATE FUNCTION mcp_execution_claimed() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
              stored TEXT;
            BEGIN
              EXECUTE format('SELECT state FROM %I.proposal WHERE id = $1', TG_TABLE_SCHEMA) INTO stored USING NEW.proposal_id;
              IF TG_WHEN = 'BEFORE' AND stored IS DISTINCT FROM 'APPROVED' THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                  MESSAGE = format('an execution of %s is recorded only by its claim, when it is APPROVED (it is %s)', NEW.proposal_id, stored);
              END IF;
              IF TG_WHEN = 'BEFORE' THEN
                NEW.claimed_by := session_user;
              END IF;
              IF TG_WHEN = 'AFTER' AND stored IS NOT DISTINCT FROM 'APPROVED' THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                  MESSAGE = format('an execution of %s was recorded without its claim: the proposal is still APPROVED', NEW.proposal_id);
              END IF;
              RETURN NEW;
            END
            $$
            """,
            "CREATE TRIGGER execution_approved BEFORE INSERT ON execution FOR EACH ROW EXECUTE FUNCTION mcp_execution_claimed()",
            """
            CREATE CONSTRAINT TRIGGER execution_claimed AFTER INSERT ON execution DEFERRABLE INITIALLY DEFERRED
              FOR EACH ROW EXECUTE FUNCTION mcp_execution_claimed()
            """,
            // A run is finished only together with its proposal leaving EXECUTING (checked at COMMIT): a half-done finish
            // would leave a run nobody can close (neither its result nor its interruption could be written any more).
            """
            CREATE FUNCTION mcp_execution_finished_with_state() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
              stored TEXT;
            BEGIN
              IF NEW.finished_at IS NOT NULL THEN
                EXECUTE format('SELECT state FROM %I.proposal WHERE id = $1', TG_TABLE_SCHEMA) INTO stored USING NEW.proposal_id;
                IF stored IS NOT DISTINCT FROM 'EXECUTING' THEN
                  RAISE EXCEPTION USING ERRCODE = 'check_violation',
                    MESSAGE = format('the execution of %s was finished while its proposal stays EXECUTING', NEW.proposal_id);
                END IF;
              END IF;
              RETURN NEW;
            END
            $$
            """,
            """
            CREATE CONSTRAINT TRIGGER execution_finished_with_state AFTER UPDATE ON execution DEFERRABLE INITIALLY DEFERRED
              FOR EACH ROW EXECUTE FUNCTION mcp_execution_finished_with_state()
            """,
            // Transition ids are the sequence's, whatever an INSERT gives (OVERRIDING SYSTEM VALUE included): history is
            // read in id order, so nobody places a transition before another.
            """
            CREATE FUNCTION mcp_transition_id() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              NEW.id := nextval(pg_get_serial_sequence(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), 'id'));
              RETURN NEW;
            END
            $$
            """,
            "CREATE TRIGGER transition_id BEFORE INSERT ON transition FOR EACH ROW EXECUTE FUNCTION mcp_transition_id()",
            // Which login wrote a decision (forensics only: the product does not read it; an approval counts by its signature).
            "ALTER TABLE decision ADD COLUMN written_by TEXT",
            """
            CREATE FUNCTION mcp_written_by() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              NEW.written_by := session_user;
              RETURN NEW;
            END
            $$
            """,
            "CREATE TRIGGER decision_written_by BEFORE INSERT ON decision FOR EACH ROW EXECUTE FUNCTION mcp_written_by()",
        ]),
    ]

    /// The tables the store owns, in the order they depend on each other.
    static let tables = ["schema_migrations", "proposal", "decision", "transition", "execution", "audit", "audit_lock"]

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

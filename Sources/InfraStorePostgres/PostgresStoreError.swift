import InfraDomain
/// Why the PostgreSQL store cannot be used, each with the fix in its description (refusals of a use case are
/// InfraDomain.Refusal). `endpoint` is always ``DatabaseURL/description`` (InfraDomain): no password in any message.
public enum PostgresStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server does not answer at the address.
    case unreachable(endpoint: String, detail: String)
    /// The server refused the login (SQLSTATE 28xxx).
    case authenticationFailed(endpoint: String, detail: String)
    /// The TLS handshake or its set-up failed.
    case tlsFailed(endpoint: String, detail: String)
    /// The database holds migrations this release does not know; nothing was changed.
    case newerSchema(endpoint: String, unknown: [String])
    /// The schema lacks migrations and this role may not apply them (or migration was not asked for).
    case schemaTooOld(endpoint: String, missing: [String])
    /// The role lacks a privilege for what was asked (SQLSTATE 42501).
    case permissionDenied(endpoint: String, detail: String)
    /// A statement waited for a lock longer than the connection's `lock_timeout` (SQLSTATE 55P03): another session
    /// holds the store's audit lock, its migration lock or a row, and kept it.
    case lockTimeout(endpoint: String, detail: String)
    /// The audit log's last row has the greatest sequence number there is: no row can follow it.
    case auditSequenceExhausted(endpoint: String, last: Int64)
    /// Any other error the server reported, with its SQLSTATE.
    case server(endpoint: String, sqlState: String, detail: String)
    /// A role name that may not go into the roles' DDL.
    case invalidRoleName(String)

    /// The SQLSTATE the server reported, when it did.
    public var sqlState: String? {
        switch self {
        case .permissionDenied: "42501"
        case .lockTimeout: "55P03"
        case .server(_, let state, _): state
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let detail):
            "PostgreSQL store \(endpoint) is unreachable: \(detail). Check the host, port or socket in LINUX_MCP_DATABASE_URL and that the server runs"
        case .authenticationFailed(let endpoint, let detail):
            "PostgreSQL store \(endpoint) refused the login: \(detail). Fix the user or password in LINUX_MCP_DATABASE_URL, or the server's pg_hba.conf"
        case .tlsFailed(let endpoint, let detail):
            "PostgreSQL store \(endpoint): TLS failed: \(detail). Check sslmode and the CA file (sslrootcert) in LINUX_MCP_DATABASE_URL "
                + "and the server's certificate and host name"
        case .newerSchema(let endpoint, let unknown):
            "PostgreSQL store \(endpoint) was written by a newer mcp-linux-infra (unknown migrations: \(unknown.joined(separator: ", "))); "
                + "nothing was changed. Run that newer release, or point LINUX_MCP_DATABASE_URL at another database"
        case .schemaTooOld(let endpoint, let missing):
            "PostgreSQL store \(endpoint) lacks migrations (\(missing.joined(separator: ", "))) and this role cannot apply them: "
                + "run `mcp-linux-infra store init-postgres --apply` as the database owner, then start again (LINUX_MCP_DATABASE_URL)"
        case .permissionDenied(let endpoint, let detail):
            "PostgreSQL store \(endpoint): permission denied: \(detail). The role in LINUX_MCP_DATABASE_URL lacks this privilege: "
                + "grant it the right group role (`mcp-linux-infra store init-postgres --print` shows the GRANTs)"
        case .invalidRoleName(let name):
            "role name '\(name)' is not allowed: use lowercase letters, digits and _, at most 63, not starting with a digit"
        case .lockTimeout(let endpoint, let detail):
            "PostgreSQL store \(endpoint): gave up waiting for a lock (\(detail), SQLSTATE 55P03): another session holds the store's lock "
                + "(the audit lock row audit_lock, the migration lock, or a row) and keeps it. Find it as an administrator: "
                + "SELECT pid, usename, application_name, client_addr, state, xact_start FROM pg_stat_activity WHERE pid IN "
                + "(SELECT unnest(pg_blocking_pids(pid)) FROM pg_stat_activity); pg_locks shows what it holds. "
                + "End that session (pg_terminate_backend(pid)) if it should not hold it, then retry (LINUX_MCP_DATABASE_URL)"
        case .auditSequenceExhausted(let endpoint, let last):
            "PostgreSQL store \(endpoint): the audit log's last row has sequence number \(last), the greatest there is, so no row can follow "
                + "it; nothing was written. Such a row was not written by mcp-linux-infra: run `mcp-linux-infra audit verify` and "
                + "restore the store from a backup (LINUX_MCP_DATABASE_URL)"
        case .server(let endpoint, let state, let detail):
            "PostgreSQL store \(endpoint): server error \(state): \(detail) (LINUX_MCP_DATABASE_URL)"
        }
    }
}

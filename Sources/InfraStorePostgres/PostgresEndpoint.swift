/// Where the PostgreSQL store lives and how to reach it: the connection description that the settings'
/// parser of `LINUX_MCP_DATABASE_URL` fills. It carries no behaviour beyond its redacted form.
public struct PostgresEndpoint: Sendable, Equatable {
    /// How the server is reached.
    public enum Address: Sendable, Equatable {
        /// A TCP host name or address and port.
        case tcp(host: String, port: Int)
        /// A unix socket: `path` is the socket FILE (e.g. `/run/postgresql/.s.PGSQL.5432`), not its folder.
        case unixSocket(path: String)
    }

    /// Whether and how the connection is encrypted (the `sslmode` of the URL).
    public enum TLS: Sendable, Equatable {
        /// Plain text (sensible on a unix socket only).
        case disable
        /// Encrypted, the server's certificate not checked (libpq's `require`).
        case require
        /// Encrypted, the certificate chain checked against `caFile` (PEM; nil: the system's roots) and the host name.
        case verifyFull(caFile: String?)
    }

    /// How the server is reached.
    public var address: Address
    /// The login role.
    public var user: String
    /// The password, if the server asks for one.
    public var password: String?
    /// The database name.
    public var database: String
    /// The encryption wanted.
    public var tls: TLS

    /// A description of every field.
    public init(address: Address, user: String, password: String? = nil, database: String, tls: TLS) {
        self.address = address
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// The endpoint for messages and logs: user, where, database and TLS mode, never the password.
    public var redacted: String {
        let place: String
        switch address {
        case .tcp(let host, let port): place = (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        case .unixSocket(let path): place = "unix:" + path
        }
        let mode: String
        switch tls {
        case .disable: mode = "disable"
        case .require: mode = "require"
        case .verifyFull(let caFile): mode = "verify-full" + (caFile.map { " (CA \($0))" } ?? "")
        }
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(place)/\(database) sslmode=\(mode)"
    }
}

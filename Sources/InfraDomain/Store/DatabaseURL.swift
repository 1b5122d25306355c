import Foundation

/// A PostgreSQL connection as `LINUX_MCP_DATABASE_URL` gives it, parsed and checked before anything connects.
///
/// The forms (libpq's URI, without the parts this product does not use):
/// - `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE[&sslrootcert=/CA.pem]]` (`postgresql://` too;
///   an IPv6 host in brackets);
/// - a unix socket: `postgres://USER@/DATABASE?host=/run/postgresql` (the socket folder; the socket is
///   `.s.PGSQL.PORT` in it), or the folder percent-encoded as the host (`postgres://USER@%2Frun%2Fpostgresql/DATABASE`).
///
/// `sslmode` is `disable`, `require` (encrypted, the server's certificate not checked) or `verify-full` (its chain
/// checked against `sslrootcert`, or the system's roots, and its name against HOST, which must then be a name: the
/// TLS library checks names, not IP addresses). Over TCP it defaults to
/// `verify-full`: a connection is never silently downgraded (libpq's `prefer` and `allow` are refused). On a unix
/// socket TLS means nothing and only `disable` is taken. A password over TCP needs `verify-full`: with `require`, an
/// active man in the middle presenting any certificate may ask for it in clear. User and database are required: nothing is guessed from
/// the environment. Any other parameter is refused, so a typo never falls back to a default.
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    /// Where the server listens.
    public enum Address: Sendable, Equatable {
        /// A host name or IP address and a port.
        case tcp(host: String, port: Int)
        /// A unix socket: the folder it is in and the port in its name.
        case unixSocket(folder: String, port: Int)
    }

    /// Whether and how the connection is encrypted.
    public enum TLS: Sendable, Equatable {
        /// In the clear (a unix socket, or a network the operator vouches for).
        case disable
        /// Encrypted; the server's certificate is not checked (a passive listener learns nothing, an active one can).
        case require
        /// Encrypted; the chain is checked against `caFile` (the system's roots when nil) and the name against the host.
        case verifyFull(caFile: String?)
    }

    public var address: Address
    public var user: String
    /// Nil when the URL gives none (trust or peer authentication on a unix socket).
    public var password: String?
    public var database: String
    public var tls: TLS

    /// The socket file of a unix-socket address (`FOLDER/.s.PGSQL.PORT`), nil over TCP.
    public var socketPath: String? {
        guard case .unixSocket(let folder, let port) = address else { return nil }
        return (folder.hasSuffix("/") ? folder : folder + "/") + ".s.PGSQL.\(port)"
    }

    /// The URL without its password, for messages and logs.
    public var description: String {
        let credentials = user + (password == nil ? "" : ":***")
        var mode: String
        switch tls {
        case .disable: mode = "disable"
        case .require: mode = "require"
        case .verifyFull(let ca): mode = "verify-full" + (ca.map { "&sslrootcert=" + $0 } ?? "")
        }
        switch address {
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "postgres://\(credentials)@\(shown):\(port)/\(database)?sslmode=\(mode)"
        case .unixSocket(let folder, let port):
            return "postgres://\(credentials)@/\(database)?host=\(folder)&port=\(port)"
        }
    }

    /// Creates a URL from its parts (tests, and the parser).
    public init(address: Address, user: String, password: String? = nil, database: String, tls: TLS) {
        self.address = address
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Why a URL was refused: `problem` says what is wrong with it, `fix` what to write instead.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var problem: String
        public var fix: String
        public var description: String { "\(problem); \(fix)" }
    }

    /// Parses `text` (see the type's forms). The password never appears in a problem's text.
    public static func parse(_ text: String) throws(Problem) -> DatabaseURL {
        func refuse(_ problem: String, _ fix: String) -> Problem { Problem(problem: problem, fix: fix) }
        let form = "write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require|verify-full] or postgres://USER@/DATABASE?host=/SOCKET/FOLDER"
        guard !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw refuse("the URL contains a space or a control character", "percent-encode it (%20) or remove it")
        }
        guard let schemeEnd = text.range(of: "://") else { throw refuse("the URL has no scheme", form) }
        let scheme = text[..<schemeEnd.lowerBound]
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw refuse("the scheme '\(scheme)' is not postgres or postgresql", form)
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query = ""
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw refuse("the URL names no database", form) }
        let authority = rest[..<slash]
        let database = try decode(rest[rest.index(after: slash)...], "the database name")
        guard !database.isEmpty, !database.contains("/") else { throw refuse("the URL names no database (the part after the host's /)", form) }

        var user = "", password: String?, hostPart = Substring(authority)
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            hostPart = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = try decode(credentials[..<colon], "the user name")
                password = try decode(credentials[credentials.index(after: colon)...], "the password")
            } else {
                user = try decode(credentials, "the user name")
            }
        }
        guard !user.isEmpty else { throw refuse("the URL names no user", "put the database role before an @: postgres://USER@...") }

        var host = "", portText: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw refuse("the IPv6 host has no closing ]", form) }
            host = String(hostPart[hostPart.index(after: hostPart.startIndex)..<close])
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw refuse("unexpected text after the IPv6 host", form) }
        } else if let colon = hostPart.lastIndex(of: ":") {
            host = try decode(hostPart[..<colon], "the host")
            portText = hostPart[hostPart.index(after: colon)...]
        } else {
            host = try decode(hostPart, "the host")
        }
        var port = 5432
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw refuse("the port '\(portText)' is not a number from 1 to 65535", "write HOST:PORT, or leave the port out for 5432")
            }
            port = number
        }

        var mode: String?, rootCert: String?, socketFolder: String?
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]), value = try decode(parts.count > 1 ? parts[1] : "", "the parameter \(key)")
            switch key {
            case "sslmode": mode = value
            case "sslrootcert": rootCert = value
            case "host": socketFolder = value
            case "port":
                guard let number = Int(value), (1...65535).contains(number) else {
                    throw refuse("the port '\(value)' is not a number from 1 to 65535", "write port=PORT, or leave it out for 5432")
                }
                port = number
            default:
                throw refuse("the parameter '\(key)' is not one this product reads", "use only sslmode, sslrootcert, host and port")
            }
        }
        if host.hasPrefix("/") {
            guard socketFolder == nil else { throw refuse("the URL gives a socket folder twice", "give it as the host or as ?host=, not both") }
            socketFolder = host
            host = ""
        }
        let address: Address
        if let folder = socketFolder {
            guard folder.hasPrefix("/"), host.isEmpty else {
                throw refuse("?host= must be the absolute folder of a unix socket, with no host before the database",
                             "write postgres://USER@/DATABASE?host=/run/postgresql")
            }
            guard folder.utf8.count + 16 <= 107 else { throw refuse("the socket folder's path is too long for a unix socket", "use a shorter folder") }
            address = .unixSocket(folder: folder, port: port)
        } else {
            guard !host.isEmpty else { throw refuse("the URL names no host", form) }
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:_".contains($0)) }) else {
                throw refuse("the host '\(host)' is not a host name or an IP address", form)
            }
            address = .tcp(host: host, port: port)
        }

        let tls: TLS
        switch (mode, address) {
        case (nil, .unixSocket), ("disable", _): tls = .disable
        case ("require", .tcp): tls = .require
        case (nil, .tcp), ("verify-full", .tcp):
            if let rootCert {
                guard rootCert.hasPrefix("/") else {
                    throw refuse("sslrootcert '\(rootCert)' is not an absolute path", "give the CA file's absolute path, or leave it out for the system's roots")
                }
                tls = .verifyFull(caFile: rootCert)
            } else {
                tls = .verifyFull(caFile: nil)
            }
        case ("require", .unixSocket), ("verify-full", .unixSocket):
            throw refuse("sslmode=\(mode!) on a unix socket", "leave sslmode out (a unix socket is not encrypted by TLS) or connect over TCP")
        case ("prefer", _), ("allow", _), ("verify-ca", _):
            throw refuse("sslmode=\(mode!) is not supported (it may fall back to no check at all)",
                         "use verify-full (with sslrootcert=/path/ca.pem for a private CA), require, or disable")
        default:
            throw refuse("sslmode '\(mode!)' is not disable, require or verify-full", "use one of those")
        }
        if password != nil, case .tcp = address, tls == .disable || tls == .require {
            throw refuse("a password over TCP with sslmode=\(tls == .disable ? "disable" : "require") can be taken on the way: in the clear, or by "
                         + "an active man in the middle, since the server's certificate is not checked (and a server may ask for the password in clear)",
                         "use sslmode=verify-full (sslrootcert=/path/ca.pem for a private CA), or a unix socket, or a login without a password")
        }
        if case .verifyFull = tls, case .tcp(let host, _) = address, host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) {
            throw refuse("sslmode=verify-full checks the certificate against a host NAME, and '\(host)' is an IP address",
                         "connect by the name the server's certificate carries, or use sslmode=require (encrypted, not checked)")
        }
        if rootCert != nil, case .verifyFull = tls {} else if rootCert != nil {
            throw refuse("sslrootcert is only read with sslmode=verify-full", "set sslmode=verify-full, or remove sslrootcert")
        }
        return DatabaseURL(address: address, user: user, password: password, database: database, tls: tls)
    }

    /// Percent-decodes one part; a part that does not decode, or holds a control character, is refused.
    private static func decode(_ part: Substring, _ what: String) throws(Problem) -> String {
        guard let decoded = String(part).removingPercentEncoding else {
            throw Problem(problem: "\(what) is not valid percent-encoding", fix: "write a % as %25")
        }
        guard !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw Problem(problem: "\(what) holds a control character", fix: "remove it")
        }
        return decoded
    }
}

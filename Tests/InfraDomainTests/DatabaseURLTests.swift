import InfraDomain
import Testing

@Suite("LINUX_MCP_DATABASE_URL parsing")
struct DatabaseURLTests {
    @Test("a TCP URL gives host, port, user, password, database, and verify-full by default")
    func tcp() throws {
        let url = try DatabaseURL.parse("postgres://mcp_server:s%40cret@db.example.com:6432/infra")
        #expect(try DatabaseURL.parse("postgres://mcp_server@db.example.com/infra?sslmode=require").tls == .require)
        #expect(try DatabaseURL.parse("postgres://mcp@/infra?host=/run/postgresql").password == nil)
        #expect(try DatabaseURL.parse("postgres://mcp:pw@/infra?host=/run/postgresql").password == "pw")
        #expect(url.address == .tcp(host: "db.example.com", port: 6432))
        #expect(url.user == "mcp_server")
        #expect(url.password == "s@cret")
        #expect(url.database == "infra")
        #expect(url.tls == .verifyFull(caFile: nil))
        #expect(!url.description.contains("s@cret") && !url.description.contains("cret"))
        #expect(url.description == "postgres://mcp_server:***@db.example.com:6432/infra?sslmode=verify-full")
    }

    @Test("postgresql://, an IPv6 host, the default port, sslmode and a CA file")
    func forms() throws {
        let url = try DatabaseURL.parse("postgresql://u@[::1]/d?sslmode=require")
        #expect(url.address == .tcp(host: "::1", port: 5432))
        #expect(try DatabaseURL.parse("postgresql://u@db/d?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem").tls == .verifyFull(caFile: "/etc/ssl/ca.pem"))
        #expect(url.password == nil)
        #expect(try DatabaseURL.parse("postgres://u@127.0.0.1/d?sslmode=require").tls == .require)
        #expect(try DatabaseURL.parse("postgres://u@db.internal/d?sslmode=verify-full").tls == .verifyFull(caFile: nil))
        #expect(try DatabaseURL.parse("postgres://u@127.0.0.1/d?sslmode=disable").tls == .disable)
    }

    @Test("a unix socket by ?host= or a percent-encoded host; its socket file; TLS off")
    func unixSocket() throws {
        let url = try DatabaseURL.parse("postgres://mcp@/infra?host=/run/postgresql")
        #expect(url.address == .unixSocket(folder: "/run/postgresql", port: 5432))
        #expect(url.socketPath == "/run/postgresql/.s.PGSQL.5432")
        #expect(url.tls == .disable)
        let encoded = try DatabaseURL.parse("postgres://mcp@%2Ftmp%2Fpg/infra?port=5499")
        #expect(encoded.socketPath == "/tmp/pg/.s.PGSQL.5499")
    }

    @Test("refusals name the problem and the fix, and never show the password",
          arguments: [
            ("mysql://u@h/d", "scheme"),
            ("postgres://u@h", "no database"),
            ("postgres://h/d", "no user"),
            ("postgres://u:pw@h:99999/d", "port"),
            ("postgres://u:pw@h/d?sslmode=prefer", "not supported"),
            ("postgres://u:pw@db/d?sslmode=require", "man in the middle"),
            ("postgres://u:pw@db/d?sslmode=disable", "in the clear"),
            ("postgres://u:pw@h/d?sslmode=verify-ca", "not supported"),
            ("postgres://u:pw@h/d?sslmode=bogus", "not disable"),
            ("postgres://u:pw@h/d?sslmod=require", "sslmod"),
            ("postgres://u:pw@/d?host=/run/postgresql&sslmode=require", "unix socket"),
            ("postgres://u@h/d?sslmode=require&sslrootcert=/ca.pem", "only read with sslmode=verify-full"),
            ("postgres://u:pw@h/d?sslrootcert=ca.pem", "absolute"),
            ("postgres://u:pw@h;rm/d", "not a host name"),
            ("postgres://u:p w@h/d", "space"),
            ("postgres://u:pw@10.0.0.5/d", "IP address"),
            ("postgres://u:pw@[::1]/d?sslmode=verify-full", "IP address"),
          ])
    func refusals(_ text: String, _ expected: String) {
        do {
            let url = try DatabaseURL.parse(text)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.problem.contains(expected), "\(error)")
            #expect(!error.fix.isEmpty)
            #expect(!error.description.contains(":pw@") && !error.description.contains(" pw"))
        }
    }

    @Test("the setting: none keeps SQLite; a bad URL is a configuration error naming LINUX_MCP_DATABASE_URL")
    func setting() throws {
        let sqlite = try Settings.resolve(.init(environment: ["HOME": "/home/x"]))
        #expect(sqlite.databaseURL == nil)
        let shared = try Settings.resolve(.init(environment: ["HOME": "/home/x", "LINUX_MCP_DATABASE_URL": "postgres://a@/b?host=/run/postgresql"]))
        #expect(shared.databaseURL?.socketPath == "/run/postgresql/.s.PGSQL.5432")
        #expect(throws: ConfigurationError.self) {
            try Settings.resolve(.init(environment: ["HOME": "/home/x", "LINUX_MCP_DATABASE_URL": "postgres://a:secret@b/c?sslmode=prefer"]))
        }
        do {
            _ = try Settings.resolve(.init(environment: ["HOME": "/home/x", "LINUX_MCP_DATABASE_URL": "postgres://a:secret@b/c?sslmode=prefer"]))
        } catch {
            #expect(error.field == "LINUX_MCP_DATABASE_URL")
            #expect(!error.description.contains("secret"))
        }
    }

    @Test("the console's login: read with a PostgreSQL store; refused with SQLite, naming both settings")
    func consoleLogin() throws {
        let both = try Settings.resolve(.init(environment: ["HOME": "/home/x", "LINUX_MCP_DATABASE_URL": "postgres://srv@/infra?host=/run/postgresql",
                                                            "LINUX_MCP_CONSOLE_DATABASE_URL": "postgres://console@/infra?host=/run/postgresql"]))
        #expect(both.consoleDatabaseURL?.user == "console" && both.databaseURL?.user == "srv")
        do {
            _ = try Settings.resolve(.init(environment: ["HOME": "/home/x", "LINUX_MCP_CONSOLE_DATABASE_URL": "postgres://console@/infra?host=/run/postgresql"]))
            Issue.record("a console login without a PostgreSQL store was accepted")
        } catch {
            #expect(error.field == "LINUX_MCP_CONSOLE_DATABASE_URL" && error.fix.contains("LINUX_MCP_DATABASE_URL"), "\(error)")
        }
    }
}

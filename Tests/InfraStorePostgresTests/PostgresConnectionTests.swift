import Foundation
import InfraApp
import InfraDomain
@testable import InfraStorePostgres
import InfraTestSupport
import PostgresNIO
import Testing

/// How the store connects and what it tells after a commit: TLS as `sslmode` says (against a cluster of its own
/// that listens on 127.0.0.1 with a certificate made by `openssl` for the test), and the head witness.
@Suite("PostgreSQL connections", .enabled(if: TestPostgres.available, Comment(rawValue: TestPostgres.missingReason)))
struct PostgresConnectionTests {
    /// Runs `openssl` with `arguments` in `folder`, failing with its error text.
    static func openssl(_ arguments: [String]) throws {
        let outcome = try ChildProcess.runBlocking("/usr/bin/openssl", arguments)
        guard outcome.status == 0 else { throw TestPostgres.Failure(description: "openssl \(arguments.first ?? ""): \(outcome.stderr)") }
    }

    /// A self-signed CA (`NAME.crt`, `NAME.key`) in `folder`.
    static func makeCA(_ folder: String, _ name: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(folder)/\(name).key",
                     "-out", "\(folder)/\(name).crt", "-days", "2", "-subj", "/CN=\(name)"])
    }

    @Test("sslmode require encrypts; verify-full accepts the right CA and host name and refuses another CA",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs openssl"))
    func tls() throws {
        let port = try TestPostgres.freeTCPPort()
        let cluster = try TestPostgres.start(tcpPort: port, settings: ["ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"]) { data in
            try Self.makeCA(data, "ca")
            try Self.makeCA(data, "other-ca")
            try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", data + "/server.key",
                              "-out", data + "/server.csr", "-subj", "/CN=localhost"])
            try "subjectAltName=DNS:localhost\n".write(toFile: data + "/server.ext", atomically: true, encoding: .utf8)
            try Self.openssl(["x509", "-req", "-in", data + "/server.csr", "-CA", data + "/ca.crt", "-CAkey", data + "/ca.key", "-CAcreateserial",
                              "-out", data + "/server.crt", "-days", "2", "-extfile", data + "/server.ext"])
            try TestPostgres.handToServer(data + "/server.key", mode: 0o600)
            try TestPostgres.handToServer(data + "/server.crt", mode: 0o644)
        }
        defer { cluster.stop() }
        try cluster.sql("CREATE DATABASE tls")
        func endpoint(_ host: String, _ tls: DatabaseURL.TLS) -> DatabaseURL {
            DatabaseURL(address: .tcp(host: host, port: port), user: TestPostgres.superuser, database: "tls", tls: tls)
        }
        func encrypted(_ database: PostgresStateDatabase) throws -> Bool {
            try database.read { session in
                try session.rows("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first?["ssl"].decode(Bool.self) ?? false
            }
        }
        let required = try PostgresStateDatabase(endpoint: endpoint("127.0.0.1", .require))
        #expect(try encrypted(required))
        let data = cluster.folder + "/data"
        let verified = try PostgresStateDatabase(endpoint: endpoint("localhost", .verifyFull(caFile: data + "/ca.crt")))
        #expect(try encrypted(verified))
        try PostgresActionStore(database: verified).insert(PostgresRolesTests.proposal("00000009-0000-4000-8000-000000000009"), audit: [])
        // Another CA, and a host the certificate does not name (an IP address is never matched: NIOSSL checks names only).
        for (host, ca) in [("localhost", "other-ca.crt"), ("127.0.0.1", "ca.crt")] {
            do {
                _ = try PostgresStateDatabase(endpoint: endpoint(host, .verifyFull(caFile: data + "/" + ca)))
                Issue.record("verify-full accepted \(host) with \(ca)")
            } catch {
                guard case .tlsFailed = error else { Issue.record("not a TLS failure: \(error)"); continue }
                #expect(error.description.contains("LINUX_MCP_DATABASE_URL"))
            }
        }
    }

    @Test("the witness gets the last row's head after every commit that appended rows, and nothing after one that did not")
    func witness() async throws {
        let database = try TestPostgres.freshDatabase()
        defer { database.drop() }
        let heads = Heads()
        let opened = try PostgresStateDatabase(endpoint: TestPostgres.url(socketPath: database.socketPath, user: TestPostgres.superuser, database: database.name),
                                               witness: { heads.add($0) })
        let store = PostgresActionStore(database: opened), audit = PostgresAuditLog(database: opened)
        let record = PostgresRolesTests.proposal("0000000a-0000-4000-8000-00000000000a")
        try store.insert(record, audit: [AuditChain.Record(actor: "mcp:svc", kind: "state", host: "t1", proposalID: record.id, outcome: "PROPOSED")])
        try await audit.append([AuditChain.Record(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "a"),
                                AuditChain.Record(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "b")])
        _ = try store.update(record.id) { _, _ in nil }
        try store.insert(PostgresRolesTests.proposal("0000000b-0000-4000-8000-00000000000b"), audit: [])
        let rows = try audit.records(AuditFilter())
        #expect(heads.all == [AuditChain.Anchor(seq: 1, hash: rows[0].hash), AuditChain.Anchor(seq: 3, hash: rows[2].hash)])
    }
}

/// What the witness was handed, in order.
final class Heads: @unchecked Sendable {
    private let lock = NSLock()
    private var heads: [AuditChain.Anchor] = []

    func add(_ head: AuditChain.Anchor) { lock.withLock { heads.append(head) } }
    var all: [AuditChain.Anchor] { lock.withLock { heads } }
}

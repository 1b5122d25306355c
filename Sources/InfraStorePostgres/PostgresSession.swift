import InfraDomain
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// One pooled connection, checked out by one thread for one piece of work: runs statements synchronously
/// (the store's ports are synchronous) and turns the driver's errors into ``PostgresStoreError``s.
///
/// Each statement is one round trip that blocks the calling thread on `EventLoopFuture.wait()`, exactly as
/// GRDB's synchronous calls block it on SQLite today. It must never run on an event-loop thread (NIO traps
/// there); the ports are called from the use cases' threads and tasks, never from NIO's.
final class PostgresSession {
    let connection: PostgresConnection
    let endpoint: String
    let logger: Logger
    /// Set when the connection can no longer be trusted (a failed ROLLBACK, a closed socket): the pool drops it.
    var broken = false
    /// The last audit row the open transaction appended (handed to the witness after COMMIT).
    var appendedHead: AuditChain.Anchor?

    init(connection: PostgresConnection, endpoint: String, logger: Logger) {
        self.connection = connection
        self.endpoint = endpoint
        self.logger = logger
    }

    /// Runs one statement (its values bound, never spliced into the text) and collects its rows.
    @discardableResult
    func run(_ query: PostgresQuery) throws(PostgresStoreError) -> PostgresQueryResult {
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            if connection.isClosed { broken = true }
            throw Self.storeError(error, endpoint: endpoint)
        }
    }

    /// The rows of one statement, each readable by column name.
    func rows(_ query: PostgresQuery) throws(PostgresStoreError) -> [PostgresRandomAccessRow] {
        try run(query).rows.map { $0.makeRandomAccess() }
    }

    /// Runs `body` between BEGIN and COMMIT (READ COMMITTED, the server's default); any error ROLLBACKs and is
    /// rethrown as it was (a Refusal, a decide's own error). A failed ROLLBACK marks the connection broken.
    func transaction<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try run("BEGIN")
        appendedHead = nil
        do {
            let result = try body(self)
            try run("COMMIT")
            return result
        } catch {
            appendedHead = nil
            do { try run("ROLLBACK") } catch { broken = true }
            throw error
        }
    }

    /// Whether `error` comes from TLS (the handshake, the certificate chain, the host name).
    static func isTLS(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
    }

    /// What a driver error means for the operator, with the fix (see ``PostgresStoreError``).
    static func storeError(_ error: any Error, endpoint: String) -> PostgresStoreError {
        if let known = error as? PostgresStoreError { return known }
        guard let error = error as? PSQLError else {
            if isTLS(error) { return .tlsFailed(endpoint: endpoint, detail: "\(error)") }
            return .unreachable(endpoint: endpoint, detail: "\(error)")
        }
        if error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? "?????"
            let message = error.serverInfo?[.message] ?? "no message"
            if state.hasPrefix("28") { return .authenticationFailed(endpoint: endpoint, detail: "\(message) (SQLSTATE \(state))") }
            if state == "42501" { return .permissionDenied(endpoint: endpoint, detail: message) }
            if state == "55P03" { return .lockTimeout(endpoint: endpoint, detail: message) }
            return .server(endpoint: endpoint, sqlState: state, detail: message)
        }
        if let underlying = error.underlying, isTLS(underlying) {
            return .tlsFailed(endpoint: endpoint, detail: "\(underlying)")
        }
        switch error.code {
        case .sslUnsupported:
            return .tlsFailed(endpoint: endpoint, detail: "the server does not offer TLS")
        case .failedToAddSSLHandler:
            return .tlsFailed(endpoint: endpoint, detail: error.underlying.map { "\($0)" } ?? "the TLS handler could not be set up")
        case .authMechanismRequiresPassword:
            return .authenticationFailed(endpoint: endpoint, detail: "the server asks for a password and the URL has none")
        case .unsupportedAuthMechanism, .saslError:
            return .authenticationFailed(endpoint: endpoint, detail: "\(error.code)" + (error.underlying.map { ": \($0)" } ?? ""))
        default:
            return .unreachable(endpoint: endpoint, detail: "\(error.code)" + (error.underlying.map { ": \($0)" } ?? ""))
        }
    }
}

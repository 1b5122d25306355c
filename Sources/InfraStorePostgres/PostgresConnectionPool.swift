import InfraDomain
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A small pool of PostgresConnections for synchronous callers: at most ``limit`` connections, opened on
/// demand on NIO's shared event-loop group, reused while healthy; a broken one (closed socket, failed
/// ROLLBACK) is closed and dropped, never handed out again. A caller past the limit waits for a free one.
///
/// Not postgres-nio's PostgresClient: that pool is async-only and needs a `run()` task kept alive by a service
/// group, while the store's ports are synchronous (they run inside the use cases' synchronous `decide`
/// transactions), so this pool is a semaphore and a list of idle connections.
final class PostgresConnectionPool: @unchecked Sendable {
    /// Connections per pool (one pool per opened database, so per process in the server).
    static let limit = 4

    let configuration: PostgresConnection.Configuration
    let endpoint: String
    let logger: Logger
    private let slots = DispatchSemaphore(value: PostgresConnectionPool.limit)
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var nextID = 0

    /// A pool for `endpoint`; nothing connects until the first checkout. Each connection is opened with
    /// `lock_timeout` = `lockTimeout` (a startup parameter, so it holds from the first statement, the migration
    /// lock included): a lock held elsewhere fails the statement with SQLSTATE 55P03 instead of a wait for ever.
    init(endpoint: DatabaseURL, lockTimeout: Duration = PostgresStateDatabase.lockTimeout, logger: Logger) throws(PostgresStoreError) {
        self.endpoint = endpoint.description
        self.logger = logger
        var configuration = try Self.configuration(endpoint)
        configuration.options.additionalStartupParameters.append(("lock_timeout", "\(Self.milliseconds(lockTimeout))ms"))
        self.configuration = configuration
    }

    /// `duration` in whole milliseconds, at least 1 (0 would mean no timeout at all).
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, min(seconds, Int64.max / 2000) * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    deinit {
        for connection in idle { Self.close(connection) }
    }

    /// Closes without waiting; the connection is kept alive until it is closed (the driver asserts on that).
    static func close(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// Runs `body` on a connection of its own, returned to the pool afterwards unless it broke.
    func withSession<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        let session = PostgresSession(connection: try checkout(), endpoint: endpoint, logger: logger)
        defer { checkin(session) }
        do {
            return try body(session)
        } catch {
            if session.connection.isClosed { session.broken = true }
            throw error
        }
    }

    private func checkout() throws(PostgresStoreError) -> PostgresConnection {
        let (reused, id): (PostgresConnection?, Int) = lock.withLock {
            while let connection = idle.popLast() {
                if !connection.isClosed { return (connection, 0) }
            }
            nextID += 1
            return (nil, nextID)
        }
        if let reused { return reused }
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                                                  id: id, logger: logger).wait()
        } catch {
            throw PostgresSession.storeError(error, endpoint: endpoint)
        }
    }

    private func checkin(_ session: PostgresSession) {
        if session.broken || session.connection.isClosed {
            Self.close(session.connection)
            return
        }
        lock.withLock { idle.append(session.connection) }
    }

    /// The driver's configuration: the address, the login and TLS as ``DatabaseURL/TLS`` says (libpq's meaning).
    static func configuration(_ endpoint: DatabaseURL) throws(PostgresStoreError) -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch endpoint.tls {
            case .disable:
                tls = .disable
            case .require:
                var settings = TLSConfiguration.makeClientConfiguration()
                settings.certificateVerification = .none
                tls = .require(try NIOSSLContext(configuration: settings))
            case .verifyFull(let caFile):
                var settings = TLSConfiguration.makeClientConfiguration()
                settings.certificateVerification = .fullVerification
                if let caFile { settings.trustRoots = .file(caFile) }
                tls = .require(try NIOSSLContext(configuration: settings))
            }
        } catch {
            throw .tlsFailed(endpoint: endpoint.description, detail: "cannot set up TLS: \(error)")
        }
        var configuration: PostgresConnection.Configuration
        switch endpoint.address {
        case .tcp(let host, let port):
            configuration = .init(host: host, port: port, username: endpoint.user, password: endpoint.password, database: endpoint.database, tls: tls)
        case .unixSocket:
            configuration = .init(unixSocketPath: endpoint.socketPath ?? "", username: endpoint.user, password: endpoint.password, database: endpoint.database)
            configuration.tls = tls
        }
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}

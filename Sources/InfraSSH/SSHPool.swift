import Foundation
import InfraDomain
import Logging

/// Reuses SSH sessions per (host, account) and runs commands on them within one overall deadline.
///
/// - Sessions are opened on demand, up to `maxSessionsPerHost` per host and account, each carrying up
///   to `maxChannelsPerSession` commands at once; further calls wait for a free channel.
/// - At most `maxHandshakesPerHost` handshakes run at once against one host (sshd's `MaxStartups`
///   drops excess unauthenticated connections); a dropped handshake is retried with backoff.
/// - A session that died is replaced on the next call. A failed call is retried only when the failure
///   came before the command was sent, so no command ever runs twice.
/// - Idle sessions close after `idleTimeout`; keepalives run while they are open.
public actor SSHPool {
    private struct Key: Hashable {
        let host: String
        let user: String
    }

    private struct Slot {
        let connection: SSHConnection
        var inFlight: Int
    }

    private struct Waiter {
        let id: UUID
        let continuation: CheckedContinuation<Void, any Error>
    }

    public let options: SSHPoolOptions
    private let verifier: HostKeyVerifier
    private let logger: Logger
    /// The I/O threads every session of this pool runs on.
    private let loops: SSHEventLoopGroup
    private var slots: [Key: [Slot]] = [:]
    private var opening: [Key: Int] = [:]
    /// What a waiting call waits for: a free channel to a host as an account, or a handshake slot of an endpoint.
    private enum Queue: Hashable {
        case channel(Key)
        case handshake(String)
    }
    private var waiters: [Queue: [Waiter]] = [:]
    private var handshakes: [String: Int] = [:]
    /// Every session this pool started, open or still connecting, until it has released everything.
    private var everOpened: [SSHConnection] = []
    private var isShutDown = false

    /// Creates a pool that trusts only the host keys `verifier` pins.
    public init(options: SSHPoolOptions, verifier: HostKeyVerifier, logger: Logger) {
        self.options = options
        self.verifier = verifier
        self.logger = logger
        self.loops = SSHEventLoopGroup(count: options.ioThreads)
    }

    /// Runs `body` with a new pool and shuts the pool down (bounded) before returning or throwing.
    public static func with<T>(options: SSHPoolOptions, verifier: HostKeyVerifier, logger: Logger,
                               _ body: (SSHPool) async throws -> T) async throws -> T {
        let pool = SSHPool(options: options, verifier: verifier, logger: logger)
        do {
            let value = try await body(pool)
            await pool.shutdown()
            return value
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    /// Runs `command` on `host` as the account of `credentials` and returns what it produced.
    ///
    /// `timeout` (default: the pool's command timeout) bounds everything: waiting for a channel,
    /// connecting, the handshake, authentication and the command itself.
    public func execute(host: InventoryHost, credentials: AccountCredentials, command: String,
                        stdin: [UInt8] = [], timeout: Duration? = nil) async throws -> ExecResult {
        let started = ContinuousClock.now
        let limit = timeout ?? options.commandTimeout
        let deadline = started + limit
        let key = Key(host: host.name, user: credentials.user)
        var attempt = 0
        while true {
            attempt += 1
            let connection = try await acquire(key, host: host, credentials: credentials, deadline: deadline, limit: limit)
            do {
                let result = try await connection.run(command: command, stdin: stdin, deadline: deadline, started: started,
                                                      limit: limit, maxOutputBytes: options.maxOutputBytes)
                release(key, connection)
                return result
            } catch let error as SSHError {
                release(key, connection)
                if error.isRetryable && attempt < 3 && ContinuousClock.now < deadline {
                    logger.debug("retrying on a fresh session; nothing was sent", metadata: ["host": "\(host.name)", "error": "\(error)"])
                    retire(key, connection)
                    continue
                }
                throw error
            }
        }
    }

    /// How many sessions are open per host and account (for `doctor` and tests).
    public func openSessionCount(host: String, user: String) -> Int {
        slots[Key(host: host, user: user)]?.filter { $0.connection.isAccepting }.count ?? 0
    }

    /// Sessions open and usable (every host and account) and handshakes running (every host), now.
    public func load() -> (sessionsOpen: Int, handshakesInFlight: Int) {
        (slots.values.reduce(0) { $0 + $1.filter { $0.connection.isAccepting }.count }, handshakes.values.reduce(0, +))
    }

    /// SSH I/O threads of this pool alive now (at most `options.ioThreads`; none while no session is open).
    public var ioThreadsRunning: Int { loops.runningThreads }

    /// How the most recent open session to this host as this user authenticated (`agent`/`key-file`).
    public func authenticationMethod(host: String, user: String) -> String? {
        slots[Key(host: host, user: user)]?.last?.connection.authenticatedWith.rawValue
    }

    /// Closes every session and waits, at most `bound`, until they have released everything.
    ///
    /// Commands still running get until half of `bound` to finish; then they fail ("the SSH pool is shut
    /// down") and their sessions close without waiting for the host. Calls waiting for a channel or a
    /// handshake fail at once. Afterwards the pool refuses every call.
    public func shutdown(within bound: Duration = .seconds(2)) async {
        let deadline = ContinuousClock.now + bound
        isShutDown = true
        let reason = "the SSH pool is shut down"
        for (queue, list) in waiters {
            let host = switch queue { case .channel(let key): key.host; case .handshake(let endpoint): endpoint }
            for waiter in list {
                waiter.continuation.resume(throwing: SSHError.connectionLost(host: host, reason: reason, commandSent: false))
            }
        }
        waiters.removeAll()
        let all = everOpened
        slots.removeAll()
        for connection in all { connection.close() }
        let graceful = await Self.waitUntilClosed(all, until: ContinuousClock.now + bound / 2)
        if !graceful {
            for connection in all where !connection.isTerminated { connection.abort(reason: reason) }
            if await !Self.waitUntilClosed(all, until: deadline) {
                logger.warning("SSH sessions still closing after the shutdown bound",
                               metadata: ["sessions": "\(all.filter { !$0.isTerminated }.count)"])
            }
        }
        everOpened.removeAll { $0.isTerminated }
    }

    /// Waits until every connection has terminated, or `deadline`; true when all did.
    private static func waitUntilClosed(_ connections: [SSHConnection], until deadline: ContinuousClock.Instant) async -> Bool {
        while connections.contains(where: { !$0.isTerminated }) {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    // MARK: - Slots

    private func acquire(_ key: Key, host: InventoryHost, credentials: AccountCredentials,
                         deadline: ContinuousClock.Instant, limit: Duration) async throws -> SSHConnection {
        while true {
            if isShutDown { throw SSHError.connectionLost(host: host.name, reason: "the SSH pool is shut down", commandSent: false) }
            slots[key]?.removeAll { !$0.connection.isAccepting && $0.inFlight == 0 }
            var list = slots[key] ?? []
            if let index = list.indices.filter({ list[$0].connection.isAccepting && list[$0].inFlight < options.maxChannelsPerSession })
                .min(by: { list[$0].inFlight < list[$1].inFlight }) {
                list[index].inFlight += 1
                slots[key] = list
                return list[index].connection
            }
            if list.count + opening[key, default: 0] < options.maxSessionsPerHost {
                opening[key, default: 0] += 1
                defer { opening[key, default: 1] -= 1 }
                let connection: SSHConnection
                do {
                    connection = try await connect(host: host, credentials: credentials, deadline: deadline)
                } catch {
                    // The slot this call meant to fill is free again: a waiter may now open a session itself.
                    wakeOneWaiter(key)
                    throw error
                }
                if isShutDown {
                    connection.abort(reason: "the SSH pool is shut down")
                    throw SSHError.connectionLost(host: host.name, reason: "the SSH pool is shut down", commandSent: false)
                }
                slots[key, default: []].append(Slot(connection: connection, inFlight: 1))
                return connection
            }
            try await waitForSlot(key, deadline: deadline, host: host.name, limit: limit)
        }
    }

    private func release(_ key: Key, _ connection: SSHConnection) {
        if let index = slots[key]?.firstIndex(where: { $0.connection === connection }) {
            slots[key]![index].inFlight -= 1
        }
        wakeOneWaiter(key)
    }

    private func retire(_ key: Key, _ connection: SSHConnection) {
        connection.close()
        slots[key]?.removeAll { $0.connection === connection && $0.inFlight == 0 }
        wakeOneWaiter(key)
    }

    /// Lets the longest-waiting call for `key` look again: a channel or a session slot came free.
    private func wakeOneWaiter(_ key: Key) {
        _ = resumeFirst(.channel(key))
    }

    private func waitForSlot(_ key: Key, deadline: ContinuousClock.Instant, host: String, limit: Duration) async throws {
        try await enqueue(.channel(key), until: deadline, host: host,
                          timeout: .timeout(host: host, phase: "waiting for a free SSH channel", limit: limit, commandSent: false))
    }

    /// Waits in `queue` under `key` until resumed, or fails with `timeout` at `deadline`, or at once when shut down.
    private func enqueue(_ queue: Queue, until deadline: ContinuousClock.Instant, host: String, timeout: SSHError) async throws {
        let id = UUID()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if isShutDown {
                continuation.resume(throwing: SSHError.connectionLost(host: host, reason: "the SSH pool is shut down", commandSent: false))
                return
            }
            waiters[queue, default: []].append(Waiter(id: id, continuation: continuation))
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.expire(queue, id: id, with: timeout)
            }
        }
    }

    private func expire(_ queue: Queue, id: UUID, with error: SSHError) {
        guard let index = waiters[queue]?.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters[queue]!.remove(at: index)
        waiter.continuation.resume(throwing: error)
    }

    /// Resumes the longest waiter of `queue`; false when nobody waits.
    private func resumeFirst(_ queue: Queue) -> Bool {
        guard var list = waiters[queue], !list.isEmpty else { return false }
        let waiter = list.removeFirst()
        waiters[queue] = list
        waiter.continuation.resume()
        return true
    }

    // MARK: - Connecting

    private func connect(host: InventoryHost, credentials: AccountCredentials,
                         deadline: ContinuousClock.Instant) async throws -> SSHConnection {
        let endpoint = "\(host.address):\(host.port)"
        var backoff = Duration.milliseconds(50)
        while true {
            try await acquireHandshake(endpoint, host: host.name, deadline: deadline)
            let connectDeadline = min(deadline, ContinuousClock.now + options.connectTimeout)
            let connection = SSHConnection(target: .init(host: host, credentials: credentials, verifier: verifier, options: options),
                                           loop: loops.next(), logger: logger)
            everOpened.removeAll { $0.isTerminated }
            everOpened.append(connection)
            do {
                // Whatever `open` throws, the session has released everything, and the handshake slot is given back.
                defer { releaseHandshake(endpoint) }
                try await connection.open(deadline: connectDeadline)
            } catch let error as SSHError {
                if case .handshakeFailed(_, _, true) = error, !isShutDown, ContinuousClock.now + backoff < deadline {
                    logger.debug("handshake dropped, retrying", metadata: ["host": "\(host.name)", "backoff": "\(backoff)"])
                    try await Task.sleep(for: backoff)
                    backoff *= 2
                    continue
                }
                throw error
            }
            logger.debug("SSH session open", metadata: ["host": "\(host.name)", "user": "\(credentials.user)",
                                                        "auth": "\(connection.authenticatedWith.rawValue)"])
            return connection
        }
    }

    /// Takes one of the host's handshake slots, waiting at most until `deadline`.
    private func acquireHandshake(_ endpoint: String, host: String, deadline: ContinuousClock.Instant) async throws {
        if isShutDown { throw SSHError.connectionLost(host: host, reason: "the SSH pool is shut down", commandSent: false) }
        if handshakes[endpoint, default: 0] < options.maxHandshakesPerHost {
            handshakes[endpoint, default: 0] += 1
            return
        }
        try await enqueue(.handshake(endpoint), until: deadline, host: host,
                          timeout: .timeout(host: host, phase: "waiting for a free handshake slot", limit: options.connectTimeout,
                                            commandSent: false))
    }

    private func releaseHandshake(_ endpoint: String) {
        // The slot passes to the longest waiter, if any.
        if !resumeFirst(.handshake(endpoint)) { handshakes[endpoint, default: 1] -= 1 }
    }
}

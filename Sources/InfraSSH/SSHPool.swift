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
    private var slots: [Key: [Slot]] = [:]
    private var opening: [Key: Int] = [:]
    private var waiters: [Key: [Waiter]] = [:]
    private var handshakes: [String: Int] = [:]
    private var handshakeWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var everOpened: [SSHConnection] = []
    private var isShutDown = false

    /// Creates a pool that trusts only the host keys `verifier` pins.
    public init(options: SSHPoolOptions, verifier: HostKeyVerifier, logger: Logger) {
        self.options = options
        self.verifier = verifier
        self.logger = logger
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

    /// How the most recent open session to this host as this user authenticated (`agent`/`key-file`).
    public func authenticationMethod(host: String, user: String) -> String? {
        slots[Key(host: host, user: user)]?.last?.connection.authenticatedWith.rawValue
    }

    /// Closes every session and waits until their threads have released everything.
    public func shutdown() async {
        isShutDown = true
        let all = everOpened
        everOpened.removeAll()
        slots.removeAll()
        for connection in all { connection.close() }
        for connection in all { await connection.waitUntilClosed() }
        for (_, list) in waiters { for waiter in list { waiter.continuation.resume(throwing: CancellationError()) } }
        waiters.removeAll()
    }

    // MARK: - Slots

    private func acquire(_ key: Key, host: InventoryHost, credentials: AccountCredentials,
                         deadline: ContinuousClock.Instant, limit: Duration) async throws -> SSHConnection {
        while true {
            if isShutDown { throw CancellationError() }
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
                let connection = try await connect(host: host, credentials: credentials, deadline: deadline)
                slots[key, default: []].append(Slot(connection: connection, inFlight: 1))
                everOpened.removeAll { $0.isTerminated }
                everOpened.append(connection)
                return connection
            }
            try await waitForSlot(key, deadline: deadline, host: host.name, limit: limit)
        }
    }

    private func release(_ key: Key, _ connection: SSHConnection) {
        if let index = slots[key]?.firstIndex(where: { $0.connection === connection }) {
            slots[key]![index].inFlight -= 1
        }
        if var list = waiters[key], !list.isEmpty {
            let waiter = list.removeFirst()
            waiters[key] = list
            waiter.continuation.resume()
        }
    }

    private func retire(_ key: Key, _ connection: SSHConnection) {
        connection.close()
        slots[key]?.removeAll { $0.connection === connection && $0.inFlight == 0 }
    }

    private func waitForSlot(_ key: Key, deadline: ContinuousClock.Instant, host: String, limit: Duration) async throws {
        let id = UUID()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            waiters[key, default: []].append(Waiter(id: id, continuation: continuation))
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.expireWaiter(key, id: id, host: host, limit: limit)
            }
        }
    }

    private func expireWaiter(_ key: Key, id: UUID, host: String, limit: Duration) {
        guard let index = waiters[key]?.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters[key]!.remove(at: index)
        waiter.continuation.resume(throwing: SSHError.timeout(host: host, phase: "waiting for a free SSH channel",
                                                              limit: limit, commandSent: false))
    }

    // MARK: - Connecting

    private func connect(host: InventoryHost, credentials: AccountCredentials,
                         deadline: ContinuousClock.Instant) async throws -> SSHConnection {
        let endpoint = "\(host.address):\(host.port)"
        var backoff = Duration.milliseconds(50)
        while true {
            await acquireHandshake(endpoint)
            let connectDeadline = min(deadline, ContinuousClock.now + options.connectTimeout)
            do {
                let connection = try await SSHConnection.open(
                    .init(host: host, credentials: credentials, verifier: verifier, options: options),
                    deadline: connectDeadline, logger: logger)
                releaseHandshake(endpoint)
                logger.debug("SSH session open", metadata: ["host": "\(host.name)", "user": "\(credentials.user)",
                                                            "auth": "\(connection.authenticatedWith.rawValue)"])
                return connection
            } catch let error as SSHError {
                releaseHandshake(endpoint)
                if case .handshakeFailed(_, _, true) = error, ContinuousClock.now + backoff < deadline {
                    logger.debug("handshake dropped, retrying", metadata: ["host": "\(host.name)", "backoff": "\(backoff)"])
                    try await Task.sleep(for: backoff)
                    backoff *= 2
                    continue
                }
                throw error
            }
        }
    }

    private func acquireHandshake(_ endpoint: String) async {
        if handshakes[endpoint, default: 0] < options.maxHandshakesPerHost {
            handshakes[endpoint, default: 0] += 1
            return
        }
        await withCheckedContinuation { handshakeWaiters[endpoint, default: []].append($0) }
    }

    private func releaseHandshake(_ endpoint: String) {
        if var list = handshakeWaiters[endpoint], !list.isEmpty {
            let next = list.removeFirst()
            handshakeWaiters[endpoint] = list
            next.resume()   // the slot passes to the waiter
        } else {
            handshakes[endpoint, default: 1] -= 1
        }
    }
}

import CLibSSH2
import Foundation
import Glibc
import InfraDomain
import Logging

/// One authenticated SSH session to one host as one account, driven by one ``SSHEventLoop``.
///
/// The session is a state machine: connect, handshake, host key check, authenticate, run commands, say
/// goodbye, release. Its loop's thread alone calls ``advance(revents:)``, which goes as far as it can
/// without blocking and says what to wait for next. Callers only ever touch the inbox and the flags, under
/// a lock, and wake the loop.
///
/// This type owns the session's lifecycle; it asks ``SSHHostKeyCheck`` whether the host is the pinned one
/// and ``SSHAuthenticator`` to prove who we are.
final class SSHConnection: @unchecked Sendable {
    /// Where and as whom to connect.
    struct Target: Sendable {
        let host: InventoryHost
        let credentials: AccountCredentials
        let verifier: HostKeyVerifier
        let options: SSHPoolOptions
    }

    let target: Target
    let logger: Logger
    private let loop: SSHEventLoop
    /// How this session authenticated (for tests and `doctor`); set before ``open(deadline:)`` returns.
    private(set) var authenticatedWith: SSHAuthenticator.Method = .none

    // Shared with callers, under `lock`.
    private let lock = NSLock()
    private var inbox: [ChannelTask.Job] = []
    private var called = false
    private var accepting = false
    private var stopRequested = false
    private var abortRequested = false
    private var abortReason = ""
    private var terminated = false
    private var terminationWaiters: [CheckedContinuation<Void, Never>] = []

    // Owned by the loop's thread (and by `open` before the loop adopts the session).
    private enum Phase {
        case connectNext
        case connecting(Int32)
        case handshaking
        case authenticating(SSHAuthenticator)
        case running
        case goodbye(until: ContinuousClock.Instant)
    }
    private var phase = Phase.connectNext
    private var addresses: [SocketConnector.Address] = []
    private var nextAddress = 0
    private var openDeadline = ContinuousClock.now
    private var ready: CheckedContinuation<Void, any Error>?
    private var hostKeyCheck: SSHHostKeyCheck
    private var session: OpaquePointer?
    private var socket: Int32 = -1
    private var tasks: [ChannelTask] = []
    private var hasAbandonedChannel = false
    private var lastActivity = ContinuousClock.now
    private var draining = false
    /// Bytes that arrived while no channel was open (a late window adjust, say): libssh2 reads them with the
    /// next channel. Until then the socket is not watched, so poll does not spin on it.
    private var inboundPending = false

    /// A session that is not started yet, reserved on `loop` (``SSHEventLoopGroup/next()``); ``open(deadline:)``
    /// hands it over.
    init(target: Target, loop: SSHEventLoop, logger: Logger) {
        self.target = target
        self.loop = loop
        self.logger = logger
        self.hostKeyCheck = SSHHostKeyCheck(host: target.host, verifier: target.verifier)
    }

    /// Connects, verifies the host key and authenticates, all before `deadline`. When this throws, the
    /// session has already released everything it held.
    func open(deadline: ContinuousClock.Instant) async throws {
        let host = target.host
        do {
            addresses = try await SocketConnector.resolve(address: host.address, port: host.port)
        } catch {
            loop.withdraw()
            markTerminated()
            switch error {
            case .failed(let reason):
                throw SSHError.connectFailed(host: hostName, endpoint: endpoint, reason: reason)
            case .timedOut:
                throw SSHError.timeout(host: hostName, phase: "resolving \(host.address)", limit: target.options.connectTimeout,
                                       commandSent: false)
            }
        }
        openDeadline = deadline
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            self.ready = ready
            if !loop.adopt(self) {
                self.ready = nil
                markTerminated()
                ready.resume(throwing: SSHError.connectionLost(host: hostName, reason: "the SSH runtime is shut down", commandSent: false))
            }
        }
    }

    /// True once the session has released everything.
    var isTerminated: Bool { lock.withLock { terminated } }

    /// True while the session takes new commands.
    var isAccepting: Bool { lock.withLock { accepting } }

    /// Runs one command on this session.
    func run(command: String, stdin: [UInt8], deadline: ContinuousClock.Instant, started: ContinuousClock.Instant,
             limit: Duration, maxOutputBytes: Int) async throws -> ExecResult {
        try await withCheckedThrowingContinuation { continuation in
            let job = ChannelTask.Job(command: Array(command.utf8), stdin: stdin, deadline: deadline, started: started,
                                      limit: limit, maxOutputBytes: maxOutputBytes, continuation: continuation)
            let taken: Bool = lock.withLock {
                guard accepting else { return false }
                inbox.append(job)
                called = true
                return true
            }
            if taken {
                loop.wake()
            } else {
                continuation.resume(throwing: SSHError.connectionLost(host: target.host.name, reason: "session closed",
                                                                      commandSent: false))
            }
        }
    }

    /// Asks the session to finish its running commands and close. Returns at once.
    func close() {
        lock.withLock {
            accepting = false
            stopRequested = true
            called = true
        }
        loop.wake()
    }

    /// Asks the session to give up at once: a handshake in progress fails, running commands fail with
    /// `reason` (a command already sent may still finish on the host) and the session closes without
    /// waiting for the host. Returns at once.
    func abort(reason: String) {
        lock.withLock {
            accepting = false
            stopRequested = true
            abortRequested = true
            abortReason = reason
            called = true
        }
        loop.wake()
    }

    /// Waits until the session has released every resource.
    func waitUntilClosed() async {
        await withCheckedContinuation { continuation in
            let done: Bool = lock.withLock {
                if terminated { return true }
                terminationWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// True once after a caller handed the session work or asked it to stop (the loop's thread asks).
    func takeCall() -> Bool {
        lock.withLock {
            defer { called = false }
            return called
        }
    }

    private var hostName: String { target.host.name }
    private var endpoint: String { "\(target.host.address):\(target.host.port)" }
    private var abortText: String { lock.withLock { abortReason.isEmpty ? "session aborted" : abortReason } }

    // MARK: - The loop's side

    /// Advances the session as far as it can without blocking; only the owning loop's thread calls it.
    /// `revents` is what the last poll reported for the socket this session asked to watch.
    func advance(revents: Int16) -> SSHEventLoop.Advance {
        switch phase {
        case .connectNext, .connecting, .handshaking, .authenticating:
            do {
                return try establish(revents: revents)
            } catch {
                // Release everything before the caller hears of the failure: a command that returns on this
                // error may end the process, and nothing may still be inside libssh2 then.
                hasAbandonedChannel = hasAbandonedChannel || lock.withLock { abortRequested }
                teardown()
                ready?.resume(throwing: error)
                ready = nil
                return .finished
            }
        case .running:
            return serve(revents: revents)
        case .goodbye(let until):
            return sayGoodbye(until: until)
        }
    }

    /// Connects, handshakes, checks the host key and authenticates, before the open deadline. Whatever it
    /// allocated before a failure is left in `session` and `socket` for ``teardown()``.
    private func establish(revents: Int16) throws(SSHError) -> SSHEventLoop.Advance {
        if lock.withLock({ abortRequested }) {
            throw .connectionLost(host: hostName, reason: abortText, commandSent: false)
        }
        while true {
            if ContinuousClock.now >= openDeadline {
                let step = switch phase {
                case .connectNext, .connecting: "TCP connect to \(endpoint)"
                case .handshaking: "SSH handshake"
                default: "authentication"
                }
                throw .timeout(host: hostName, phase: step, limit: target.options.connectTimeout, commandSent: false)
            }
            switch phase {
            case .connectNext:
                guard nextAddress < addresses.count else {
                    throw .connectFailed(host: hostName, endpoint: endpoint, reason: "no address of \(target.host.address) accepted the connection")
                }
                let address = addresses[nextAddress]
                nextAddress += 1
                do {
                    phase = .connecting(try SocketConnector.begin(address))
                } catch {
                    if nextAddress >= addresses.count, case .failed(let reason) = error {
                        throw .connectFailed(host: hostName, endpoint: endpoint, reason: reason)
                    }
                    continue
                }
                return wait(for: Int16(POLLOUT), on: socketOf(phase))
            case .connecting(let fd):
                if revents == 0 { return wait(for: Int16(POLLOUT), on: fd) }
                do {
                    try SocketConnector.finish(fd)
                } catch {
                    phase = .connectNext
                    if nextAddress >= addresses.count, case .failed(let reason) = error {
                        throw .connectFailed(host: hostName, endpoint: endpoint, reason: reason)
                    }
                    continue
                }
                socket = fd
                phase = .handshaking   // the socket is `socket`'s now: teardown closes it once
                guard let session = cssh_session_init() else {
                    throw .handshakeFailed(host: hostName, reason: "libssh2 could not allocate a session", retryable: false)
                }
                self.session = session
                libssh2_session_set_blocking(session, 0)
                hostKeyCheck.offerPinnedKeyTypes(on: session)
                _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_KEX,
                    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
                    + "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256")
            case .handshaking:
                guard let session else { return .finished }
                let rc = libssh2_session_handshake(session, socket)
                if rc == LibSSH2.again { return wait(for: directions(), on: socket) }
                if rc != 0 {
                    // sshd's MaxStartups drops excess unauthenticated connections at random: "failed getting banner".
                    let retryable = rc == Int32(LIBSSH2_ERROR_SOCKET_RECV) || rc == Int32(LIBSSH2_ERROR_BANNER_RECV)
                        || rc == Int32(LIBSSH2_ERROR_SOCKET_DISCONNECT)
                    throw .handshakeFailed(host: hostName, reason: LibSSH2.lastError(session), retryable: retryable)
                }
                try hostKeyCheck.verifyPresentedKey(of: session)
                phase = .authenticating(SSHAuthenticator(session: session, credentials: target.credentials,
                                                         hostName: hostName, logger: logger))
            case .authenticating(let authenticator):
                guard let method = try authenticator.step() else { return wait(for: directions(), on: socket) }
                authenticatedWith = method
                if target.options.keepaliveSeconds > 0, let session {
                    libssh2_keepalive_config(session, 0, UInt32(target.options.keepaliveSeconds))
                }
                let aborted = lock.withLock { () -> Bool in
                    if !abortRequested { accepting = true }
                    return abortRequested
                }
                if aborted { throw .connectionLost(host: hostName, reason: abortText, commandSent: false) }
                phase = .running
                lastActivity = .now
                ready?.resume()
                ready = nil
                return serve(revents: 0)
            case .running, .goodbye:
                return .finished
            }
        }
    }

    private func socketOf(_ phase: Phase) -> Int32 {
        if case .connecting(let fd) = phase { return fd }
        return socket
    }

    /// Waits for `events` on `fd` until the open deadline.
    private func wait(for events: Int16, on fd: Int32) -> SSHEventLoop.Advance {
        .waiting(.init(fd: fd, events: events, wakeAt: openDeadline, awaitingReply: true))
    }

    private func directions() -> Int16 {
        guard let session else { return Int16(POLLIN) }
        let wanted = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if wanted & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if wanted & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        return events == 0 ? Int16(POLLIN) : events
    }

    // MARK: - Running commands

    /// One turn of an open session: takes new commands, advances every channel, keeps the session alive,
    /// and closes it when asked, idle too long, or broken.
    private func serve(revents: Int16) -> SSHEventLoop.Advance {
        guard let session else { return beginClose() }
        if tasks.isEmpty && !inboundPending && revents != 0 {
            // An idle session: EOF means sshd is gone. Data is left for the next channel to read.
            var byte: UInt8 = 0
            let n = recv(socket, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                logger.debug("pooled session closed by the host", metadata: ["host": "\(hostName)"])
                hasAbandonedChannel = true   // no clean goodbye on a dead socket
                return beginClose()
            }
            if n > 0 { inboundPending = true }
        }
        while true {
            let (newJobs, stop, abort) = lock.withLock { () -> ([ChannelTask.Job], Bool, Bool) in
                defer { inbox.removeAll() }
                return (inbox, stopRequested, abortRequested)
            }
            tasks.append(contentsOf: newJobs.map(ChannelTask.init))
            if abort {
                // Channels are left as they are: the socket is shut before the session is freed.
                if !tasks.isEmpty { hasAbandonedChannel = true }
                fail(tasks, reason: abortText)
                tasks.removeAll()
                return beginClose()
            }
            if !tasks.isEmpty { inboundPending = false }
            if stop { draining = true }

            var progressed = false
            var broken = false
            var index = 0
            while index < tasks.count {
                let task = tasks[index]
                switch task.step(session: session, host: hostName) {
                case .progressed:
                    progressed = true
                    index += 1
                case .blocked:
                    index += 1
                case .finished(let result, let abandoned, let sessionBroken):
                    tasks.remove(at: index)
                    if abandoned { hasAbandonedChannel = true; draining = true } else { task.release() }
                    if sessionBroken { broken = true }
                    task.job.continuation.resume(with: result.mapError { $0 as any Error })
                    lastActivity = .now
                    progressed = true
                }
            }
            if broken {
                fail(tasks, reason: "the session broke: \(LibSSH2.lastError(session))")
                tasks.removeAll()
                return beginClose()
            }
            let now = ContinuousClock.now
            if !tasks.isEmpty { lastActivity = now }
            if draining || tasks.isEmpty && lastActivity.duration(to: now) >= target.options.idleTimeout {
                lock.withLock { accepting = false }
                if tasks.isEmpty && lock.withLock({ inbox.isEmpty }) { return beginClose() }
                if tasks.isEmpty { continue }   // jobs that slipped in before accepting went false
            }
            var wakeAt = now + .seconds(60)
            if target.options.keepaliveSeconds > 0 {
                var next: Int32 = 0
                let rc = libssh2_keepalive_send(session, &next)
                if rc < 0 && rc != LibSSH2.again {
                    fail(tasks, reason: "keepalive failed: \(LibSSH2.lastError(session))")
                    tasks.removeAll()
                    return beginClose()
                }
                wakeAt = now + .seconds(Int(max(1, next)))
            }
            // More may be ready at once: come back after the other sessions of this loop had their turn.
            if progressed { wakeAt = now }
            for task in tasks { wakeAt = min(wakeAt, task.job.deadline) }
            if tasks.isEmpty {
                wakeAt = min(wakeAt, lastActivity + target.options.idleTimeout)
            } else {
                // While commands run, look again at least every 100 ms: a wake-up libssh2 did not ask for (a
                // window adjust that came while it reported itself blocked on sending) then costs 100 ms, not
                // the keepalive interval. Seen under load: stdin writes stalled until their deadline.
                wakeAt = min(wakeAt, now + .milliseconds(100))
            }
            // Inbound data is always worth a look while commands run; libssh2 reads it on the next step.
            return .waiting(.init(fd: inboundPending ? -1 : socket,
                                  events: tasks.isEmpty ? Int16(POLLIN) : directions() | Int16(POLLIN),
                                  wakeAt: wakeAt, awaitingReply: !tasks.isEmpty))
        }
    }

    private func fail(_ tasks: [ChannelTask], reason: String) {
        for task in tasks {
            task.job.continuation.resume(throwing: SSHError.connectionLost(host: hostName, reason: reason,
                                                                           commandSent: task.execSent))
        }
    }

    // MARK: - Closing

    /// Stops taking commands and says goodbye to the host (at most 200 ms), unless a channel was abandoned
    /// or the socket is dead: then it closes at once.
    private func beginClose() -> SSHEventLoop.Advance {
        lock.withLock { accepting = false }
        if session == nil || hasAbandonedChannel {
            teardown()
            return .finished
        }
        return sayGoodbye(until: .now + .milliseconds(200))
    }

    private func sayGoodbye(until: ContinuousClock.Instant) -> SSHEventLoop.Advance {
        phase = .goodbye(until: until)
        if let session, ContinuousClock.now < until, cssh_session_disconnect(session, "bye") == LibSSH2.again {
            return .waiting(.init(fd: socket, events: directions(), wakeAt: min(until, .now + .milliseconds(20)), awaitingReply: false))
        }
        teardown()
        return .finished
    }

    /// Fails what is still queued, frees the session and closes the socket, then wakes whoever waits for
    /// the end. After this the session holds nothing.
    private func teardown() {
        let leftovers: [ChannelTask.Job] = lock.withLock {
            accepting = false
            defer { inbox.removeAll() }
            return inbox
        }
        for job in leftovers {
            job.continuation.resume(throwing: SSHError.connectionLost(host: hostName, reason: "session closed", commandSent: false))
        }
        if case .authenticating(let authenticator) = phase { authenticator.release() }
        if case .connecting(let fd) = phase { Glibc.close(fd) }
        if let session {
            // Shut the socket first so freeing abandoned channels cannot wait on the host.
            if socket >= 0 { shutdown(socket, Int32(SHUT_RDWR)) }
            var tries = 0
            while libssh2_session_free(session) == LibSSH2.again && tries < 1000 { tries += 1 }
            self.session = nil
        }
        if socket >= 0 { Glibc.close(socket); socket = -1 }
        phase = .connectNext
        markTerminated()
    }

    private func markTerminated() {
        let waiters: [CheckedContinuation<Void, Never>] = lock.withLock {
            terminated = true
            accepting = false
            defer { terminationWaiters.removeAll() }
            return terminationWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

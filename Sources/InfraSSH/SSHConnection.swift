import CLibSSH2
import Foundation
import Glibc
import InfraDomain
import Logging

/// One authenticated SSH session to one host as one account, owned by a thread of its own.
///
/// libssh2 handles are not thread-safe and its calls must never run on Swift's cooperative pool (two
/// threads here: one blocked poll would stall every task). So each connection runs a small event loop
/// on a dedicated thread: it takes jobs from an inbox, advances every channel without blocking, and
/// `poll()`s the socket, an eventfd (new work) and the nearest deadline. Callers only ever touch the
/// inbox, under a lock.
///
/// This type owns the session's lifecycle (connect, handshake, run commands, close, tear down); it asks
/// ``SSHHostKeyCheck`` whether the host is the pinned one and ``SSHAuthenticator`` to prove who we are.
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
    /// How this session authenticated (for tests and `doctor`).
    private(set) var authenticatedWith: SSHAuthenticator.Method = .none

    // Shared with callers, under `lock`.
    private let lock = NSLock()
    private var inbox: [ChannelTask.Job] = []
    private var accepting = false
    private var stopRequested = false
    private var abortRequested = false
    private var terminated = false
    private var terminationWaiters: [CheckedContinuation<Void, Never>] = []

    // Owned by the connection thread.
    private var session: OpaquePointer?
    private var socket: Int32 = -1
    private let wakeFD: Int32
    private var tasks: [ChannelTask] = []
    private var hasAbandonedChannel = false

    /// A session that is not started yet; ``open(deadline:)`` starts it.
    init(target: Target, logger: Logger) {
        self.target = target
        self.logger = logger
        self.wakeFD = cssh_wake_fd()
    }

    /// Starts the session's thread, which connects, verifies the host key and authenticates, all before
    /// `deadline`. When this throws, the thread has already released everything it held.
    func open(deadline: ContinuousClock.Instant) async throws {
        guard SSHRuntime.threadWillStart() else {
            lock.withLock { terminated = true }
            Glibc.close(wakeFD)
            throw SSHError.connectionLost(host: target.host.name, reason: "the SSH runtime is shut down", commandSent: false)
        }
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            let thread = Thread { [self] in
                threadMain(deadline: deadline, ready: ready)
                SSHRuntime.threadDidFinish()
            }
            thread.name = "ssh \(target.host.name)/\(target.credentials.user)"
            thread.start()
        }
    }

    /// True once the session's thread has released everything.
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
                wake()
                return true
            }
            if !taken {
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
            wake()
        }
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
            wake()
        }
    }

    private var abortReason = ""

    /// Waits until the session's thread has released every resource.
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

    /// Must be called with `lock` held.
    private func wake() {
        guard !terminated else { return }
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    // MARK: - Thread

    private func threadMain(deadline: ContinuousClock.Instant, ready: CheckedContinuation<Void, any Error>) {
        do {
            try establish(deadline: deadline)
            let aborted = lock.withLock { () -> Bool in
                if !abortRequested { accepting = true }
                return abortRequested
            }
            if aborted { throw SSHError.connectionLost(host: hostName, reason: abortText, commandSent: false) }
            ready.resume()
            runLoop()
            teardown()
        } catch {
            // Release everything before the caller hears of the failure: a command that returns on this
            // error may end the process, and nothing may still be inside libssh2 then.
            hasAbandonedChannel = hasAbandonedChannel || lock.withLock { abortRequested }
            teardown()
            ready.resume(throwing: error)
        }
    }

    private var abortText: String { lock.withLock { abortReason.isEmpty ? "session aborted" : abortReason } }

    private var hostName: String { target.host.name }

    /// Connects, handshakes, checks the host key and authenticates, all before `deadline`. Whatever it
    /// allocated before a failure is left in `session` and `socket` for ``teardown()``.
    private func establish(deadline: ContinuousClock.Instant) throws(SSHError) {
        let host = target.host
        let endpoint = "\(host.address):\(host.port)"
        do {
            socket = try SocketConnector.connect(address: host.address, port: host.port, deadline: deadline)
        } catch {
            switch error {
            case .timedOut:
                throw .timeout(host: hostName, phase: "TCP connect to \(endpoint)", limit: target.options.connectTimeout, commandSent: false)
            case .failed(let reason):
                throw .connectFailed(host: hostName, endpoint: endpoint, reason: reason)
            }
        }
        guard let session = cssh_session_init() else {
            throw .handshakeFailed(host: hostName, reason: "libssh2 could not allocate a session", retryable: false)
        }
        self.session = session
        libssh2_session_set_blocking(session, 0)

        let hostKeyCheck = SSHHostKeyCheck(host: host, verifier: target.verifier)
        hostKeyCheck.offerPinnedKeyTypes(on: session)
        _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_KEX,
            "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
            + "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256")

        var rc: Int32
        repeat {
            rc = libssh2_session_handshake(session, socket)
            if rc == LibSSH2.again { try wait(until: deadline, phase: "SSH handshake") }
        } while rc == LibSSH2.again
        if rc != 0 {
            // sshd's MaxStartups drops excess unauthenticated connections at random: "failed getting banner".
            let retryable = rc == Int32(LIBSSH2_ERROR_SOCKET_RECV) || rc == Int32(LIBSSH2_ERROR_BANNER_RECV)
                || rc == Int32(LIBSSH2_ERROR_SOCKET_DISCONNECT)
            throw .handshakeFailed(host: hostName, reason: LibSSH2.lastError(session), retryable: retryable)
        }
        try hostKeyCheck.verifyPresentedKey(of: session)
        let authenticator = SSHAuthenticator(session: session, credentials: target.credentials, hostName: hostName, logger: logger,
                                             waitForSocket: { () throws(SSHError) in try self.wait(until: deadline, phase: "authentication") })
        authenticatedWith = try authenticator.authenticate()
        if target.options.keepaliveSeconds > 0 {
            libssh2_keepalive_config(session, 0, UInt32(target.options.keepaliveSeconds))
        }
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked on, or throws at the deadline.
    private func wait(until deadline: ContinuousClock.Instant, phase: String) throws(SSHError) {
        let timeout = Deadline.milliseconds(until: deadline)
        if timeout <= 0 {
            throw .timeout(host: hostName, phase: phase, limit: target.options.connectTimeout, commandSent: false)
        }
        if lock.withLock({ abortRequested }) {
            throw .connectionLost(host: hostName, reason: abortText, commandSent: false)
        }
        var fds = [pollfd(fd: socket, events: directions(), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        _ = cssh_set_tcp_quickack(socket)
        _ = poll(&fds, 2, timeout)
        if fds[1].revents != 0 {
            var counter: UInt64 = 0
            _ = Glibc.read(wakeFD, &counter, 8)
        }
    }

    private func directions() -> Int16 {
        guard let session else { return Int16(POLLIN) }
        let wanted = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if wanted & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if wanted & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        return events == 0 ? Int16(POLLIN) : events
    }

    // MARK: - Event loop

    private func runLoop() {
        guard let session else { return }
        var lastActivity = ContinuousClock.now
        var draining = false
        // Bytes that arrived while no channel was open (a late window adjust, say): libssh2 reads them with
        // the next channel. Until then the socket is not watched, so poll does not spin on it.
        var inboundPending = false
        loop: while true {
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
                break loop
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
                break loop
            }
            if !tasks.isEmpty { lastActivity = .now }
            if draining || tasks.isEmpty && lastActivity.duration(to: .now) >= target.options.idleTimeout {
                lock.withLock { accepting = false }
                if tasks.isEmpty && lock.withLock({ inbox.isEmpty }) { break loop }
                if tasks.isEmpty {  // jobs that slipped in before accepting went false
                    continue loop
                }
            }
            var keepaliveMs: Int32 = 60_000
            if target.options.keepaliveSeconds > 0 {
                var next: Int32 = 0
                let rc = libssh2_keepalive_send(session, &next)
                if rc < 0 && rc != LibSSH2.again {
                    fail(tasks, reason: "keepalive failed: \(LibSSH2.lastError(session))")
                    tasks.removeAll()
                    break loop
                }
                keepaliveMs = max(1000, next * 1000)
            }
            if progressed { continue loop }

            var timeout = keepaliveMs
            for task in tasks { timeout = min(timeout, Deadline.milliseconds(until: task.job.deadline)) }
            if tasks.isEmpty {
                timeout = min(timeout, Deadline.milliseconds(until: lastActivity + target.options.idleTimeout))
            } else {
                // While commands run, look again at least every 100 ms: a wake-up libssh2 did not ask for (a
                // window adjust that came while it reported itself blocked on sending) then costs 100 ms, not
                // the keepalive interval. Seen under load: stdin writes stalled until their deadline.
                timeout = min(timeout, 100)
            }
            // Inbound data is always worth a look while commands run; libssh2 reads it on the next step.
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: inboundPending ? -1 : socket, events: tasks.isEmpty ? Int16(POLLIN) : directions() | Int16(POLLIN), revents: 0)]
            _ = cssh_set_tcp_quickack(socket)
            _ = poll(&fds, 2, timeout)
            if fds[0].revents != 0 {
                var counter: UInt64 = 0
                _ = Glibc.read(wakeFD, &counter, 8)
            }
            if tasks.isEmpty && !inboundPending && fds[1].revents != 0 {
                // An idle session: EOF means sshd is gone. Data is left for the next channel to read.
                var byte: UInt8 = 0
                let n = recv(socket, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
                if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                    logger.debug("pooled session closed by the host", metadata: ["host": "\(hostName)"])
                    hasAbandonedChannel = true   // no clean goodbye on a dead socket
                    break loop
                }
                if n > 0 { inboundPending = true }
            }
        }
        lock.withLock { accepting = false }
    }

    private func fail(_ tasks: [ChannelTask], reason: String) {
        for task in tasks {
            task.job.continuation.resume(throwing: SSHError.connectionLost(host: hostName, reason: reason,
                                                                           commandSent: task.execSent))
        }
    }

    private func teardown() {
        let leftovers: [ChannelTask.Job] = lock.withLock {
            accepting = false
            defer { inbox.removeAll() }
            return inbox
        }
        for job in leftovers {
            job.continuation.resume(throwing: SSHError.connectionLost(host: hostName, reason: "session closed", commandSent: false))
        }
        if let session {
            if !hasAbandonedChannel {
                let goodbye = ContinuousClock.now + .milliseconds(200)
                while cssh_session_disconnect(session, "bye") == LibSSH2.again && ContinuousClock.now < goodbye {
                    var pfd = pollfd(fd: socket, events: directions(), revents: 0)
                    _ = poll(&pfd, 1, 20)
                }
            }
            // Shut the socket first so freeing abandoned channels cannot wait on the host.
            if socket >= 0 { shutdown(socket, Int32(SHUT_RDWR)) }
            var tries = 0
            while libssh2_session_free(session) == LibSSH2.again && tries < 1000 { tries += 1 }
            self.session = nil
        }
        if socket >= 0 { Glibc.close(socket); socket = -1 }
        let waiters: [CheckedContinuation<Void, Never>] = lock.withLock {
            terminated = true
            Glibc.close(wakeFD)
            defer { terminationWaiters.removeAll() }
            return terminationWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

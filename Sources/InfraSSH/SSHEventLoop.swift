import CLibSSH2
import Foundation
import Glibc

/// One SSH I/O thread that drives many non-blocking sessions with a single `poll()`.
///
/// libssh2 handles are not thread-safe, and blocking calls must never run on Swift's cooperative pool (two
/// threads here). So every session is owned by exactly one loop for its whole life, and only that loop's
/// thread calls into its libssh2 handles. Each turn the thread advances the sessions that are due (their
/// socket is ready, their next deadline passed, or a caller handed them work), then polls every socket,
/// an eventfd (new work) and the nearest deadline.
///
/// The thread starts with the first session and ends when the last one has released everything, so a
/// process with no session has no SSH thread; ``SSHRuntime`` counts it while it lives.
final class SSHEventLoop: @unchecked Sendable {
    /// What a session waits for: readiness of its socket (`fd` -1: none) and a moment to look again.
    struct Interest {
        var fd: Int32
        var events: Int16
        var wakeAt: ContinuousClock.Instant
        /// Set TCP_QUICKACK before the poll: a reply is awaited (FIELD-NOTES §1: 40 ms stalls otherwise).
        var awaitingReply: Bool
    }

    /// What advancing a session came to.
    enum Advance {
        case waiting(Interest)
        case finished
    }

    private struct Entry {
        let connection: SSHConnection
        var interest: Interest
        var revents: Int16 = 0
        /// Advanced this turn: it may have sent, which can put the socket back into delayed ACKs.
        var advanced = true
    }

    let name: String
    private let wakeFD: Int32

    // Shared with callers, under `lock`.
    private let lock = NSLock()
    private var arriving: [SSHConnection] = []
    private var threadRunning = false
    private var sessionCount = 0

    // Owned by the loop's thread.
    private var entries: [Entry] = []

    /// A loop whose thread is named `name`; the thread starts with the first session.
    init(name: String) {
        self.name = name
        self.wakeFD = cssh_wake_fd()
    }

    deinit { Glibc.close(wakeFD) }

    /// Sessions this loop owns or was promised (for balancing and tests).
    var sessions: Int { lock.withLock { sessionCount } }

    /// Promises the loop one more session, so that sessions opened at the same moment spread over the loops
    /// before any of them is adopted. ``adopt(_:)`` keeps the promise; ``withdraw()`` takes it back.
    func reserve() {
        lock.withLock { sessionCount += 1 }
    }

    /// Takes back a ``reserve()`` whose session will never be adopted (it failed before).
    func withdraw() {
        lock.withLock { sessionCount -= 1 }
    }

    /// True while the loop's thread is alive.
    var isRunning: Bool { lock.withLock { threadRunning } }

    /// Hands `connection`, reserved before, to this loop, starting the thread if it is not running. False
    /// (and the reservation withdrawn) when the SSH runtime is shut down and no thread may start.
    func adopt(_ connection: SSHConnection) -> Bool {
        lock.withLock {
            if !threadRunning {
                guard SSHRuntime.threadWillStart() else {
                    sessionCount -= 1
                    return false
                }
                threadRunning = true
                let thread = Thread { [self] in
                    // Named from inside: `ps -L`, /proc/PID/task/*/comm and the benches count I/O threads by it.
                    Thread.current.name = name
                    run()
                    SSHRuntime.threadDidFinish()
                }
                thread.start()
            }
            arriving.append(connection)
            wake()
            return true
        }
    }

    /// Makes the thread look at its sessions again now (a caller handed one of them work).
    func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    // MARK: - Thread

    private func run() {
        var fds: [pollfd] = []
        while true {
            let (newcomers, keepGoing) = lock.withLock { () -> ([SSHConnection], Bool) in
                defer { arriving.removeAll() }
                if entries.isEmpty && arriving.isEmpty {
                    threadRunning = false
                    return ([], false)
                }
                return (arriving, true)
            }
            if !keepGoing { return }
            let now = ContinuousClock.now
            for connection in newcomers {
                entries.append(Entry(connection: connection,
                                     interest: Interest(fd: -1, events: 0, wakeAt: now, awaitingReply: false)))
            }

            var index = 0
            var finished = 0
            while index < entries.count {
                let entry = entries[index]
                entries[index].advanced = false
                if entry.revents != 0 || entry.interest.wakeAt <= now || entry.connection.takeCall() {
                    switch entry.connection.advance(revents: entry.revents) {
                    case .waiting(let interest):
                        entries[index].interest = interest
                        entries[index].revents = 0
                        entries[index].advanced = true
                    case .finished:
                        entries.remove(at: index)
                        finished += 1
                        continue
                    }
                }
                index += 1
            }
            if finished > 0 { lock.withLock { sessionCount -= finished } }
            if entries.isEmpty { continue }   // decides under the lock whether to end

            let turn = ContinuousClock.now
            var timeout: Int32 = 60_000
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
            for entry in entries {
                timeout = min(timeout, Deadline.milliseconds(until: entry.interest.wakeAt, from: turn))
                if entry.advanced && entry.interest.awaitingReply && entry.interest.fd >= 0 { _ = cssh_set_tcp_quickack(entry.interest.fd) }
                fds.append(pollfd(fd: entry.interest.fd, events: entry.interest.events, revents: 0))
            }
            _ = poll(&fds, nfds_t(fds.count), timeout)
            if fds[0].revents != 0 {
                var counter: UInt64 = 0
                _ = Glibc.read(wakeFD, &counter, 8)
            }
            for position in entries.indices { entries[position].revents = fds[position + 1].revents }
        }
    }
}

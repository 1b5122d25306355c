import CLibSSH2
import Foundation
import Glibc

/// The process-wide lifetime of libssh2 and OpenSSL.
///
/// OpenSSL frees its locks in an exit-time handler. An SSH I/O thread that is still inside libssh2 (a
/// disconnect draws random bytes) when `exit()` runs those handlers crashes the process. So every I/O
/// thread (``SSHEventLoop``) registers here for its whole life, and a command ends with
/// ``finish(within:)``: it waits until the last I/O thread has released its sessions and ended, then calls
/// `libssh2_exit()` once. Should a thread outlive the bound, ``endProcess(status:)`` leaves without running
/// the exit handlers at all.
public enum SSHRuntime {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var liveThreads = 0
    nonisolated(unsafe) private static var finished = false
    nonisolated(unsafe) private static var initialised = false
    nonisolated(unsafe) private static var cleanExit = true

    /// Initialises libssh2 once, before the first session, and counts the I/O thread about to start.
    /// Fails once ``finish(within:)`` has run: no session may start after the library is released.
    static func threadWillStart() -> Bool {
        lock.withLock {
            guard !finished else { return false }
            if !initialised {
                _ = libssh2_init(0)
                initialised = true
            }
            liveThreads += 1
            return true
        }
    }

    /// Called by an I/O thread as its very last step, after its last session freed everything.
    static func threadDidFinish() {
        lock.withLock { liveThreads -= 1 }
    }

    /// SSH I/O threads alive now (tests and shutdown logs).
    public static var liveIOThreads: Int { lock.withLock { liveThreads } }

    /// Waits until every I/O thread has finished (at most `bound`), then releases libssh2.
    ///
    /// Returns true when the library was released cleanly. After it returns no new session can start.
    @discardableResult
    public static func finish(within bound: Duration = .seconds(2)) async -> Bool {
        let deadline = ContinuousClock.now + bound
        lock.withLock { finished = true }
        while liveIOThreads > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return lock.withLock {
            guard liveThreads == 0 else {
                cleanExit = false
                return false
            }
            if initialised {
                libssh2_exit()
                initialised = false
            }
            return true
        }
    }

    /// Ends the process with `status`. After a clean ``finish(within:)`` this is `exit()`; when an I/O
    /// thread is still alive it flushes stdout and stderr and calls `_exit()`, which skips the exit
    /// handlers that would free OpenSSL under that thread.
    public static func endProcess(status: Int32) -> Never {
        let clean = lock.withLock { cleanExit && liveThreads == 0 }
        fflush(nil)
        if clean { exit(status) }
        _exit(status)
    }
}

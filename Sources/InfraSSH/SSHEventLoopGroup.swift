import Foundation

/// A fixed set of SSH I/O threads (``SSHEventLoop``) that a pool's sessions share, whatever the number of
/// hosts: a new session goes to the loop that owns the fewest.
final class SSHEventLoopGroup: Sendable {
    let loops: [SSHEventLoop]
    /// Makes choosing and reserving one step, so two sessions opened at once do not both pick the same loop.
    private let lock = NSLock()

    /// `count` loops (at least one); their threads start with their first session.
    init(count: Int) {
        loops = (1...max(1, count)).map { SSHEventLoop(name: "ssh-io-\($0)") }
    }

    /// The loop a new session should join, the one with the fewest sessions, with the session reserved on it
    /// (see ``SSHEventLoop/reserve()``).
    func next() -> SSHEventLoop {
        lock.withLock {
            let loop = loops.min { $0.sessions < $1.sessions }!
            loop.reserve()
            return loop
        }
    }

    /// Loop threads alive now.
    var runningThreads: Int { loops.filter(\.isRunning).count }
}

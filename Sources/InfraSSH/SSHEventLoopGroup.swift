/// A fixed set of SSH I/O threads (``SSHEventLoop``) that a pool's sessions share, whatever the number of
/// hosts: a new session goes to the loop that owns the fewest.
final class SSHEventLoopGroup: Sendable {
    let loops: [SSHEventLoop]

    /// `count` loops (at least one); their threads start with their first session.
    init(count: Int) {
        loops = (1...max(1, count)).map { SSHEventLoop(name: "ssh-io-\($0)") }
    }

    /// The loop a new session should join: the one with the fewest sessions.
    func next() -> SSHEventLoop {
        loops.min { $0.sessions < $1.sessions }!
    }

    /// Loop threads alive now.
    var runningThreads: Int { loops.filter(\.isRunning).count }
}

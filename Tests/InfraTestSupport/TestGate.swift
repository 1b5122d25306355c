/// A reader/writer gate for tests in this process: target tests hold it shared and run in parallel; a
/// test that measures latency holds it exclusively, so unrelated tests' CPU load (floods, key
/// generation, other sshds on two cores) does not distort what it measures.
public actor TestGate {
    public static let shared = TestGate()

    private var readers = 0
    private var writer = false
    private var readerWaiters: [CheckedContinuation<Void, Never>] = []
    private var writerWaiters: [CheckedContinuation<Void, Never>] = []

    /// Waits until the gate is held shared (or exclusively).
    public func enter(exclusive: Bool) async {
        if exclusive { await acquireExclusive() } else { await acquireShared() }
    }

    /// Releases what ``enter(exclusive:)`` took.
    public func leave(exclusive: Bool) {
        if exclusive { releaseExclusive() } else { releaseShared() }
    }

    private func acquireShared() async {
        if !writer && writerWaiters.isEmpty { readers += 1; return }
        await withCheckedContinuation { readerWaiters.append($0) }
    }

    private func releaseShared() {
        readers -= 1
        if readers == 0 && !writerWaiters.isEmpty {
            writer = true
            writerWaiters.removeFirst().resume()
        }
    }

    private func acquireExclusive() async {
        if !writer && readers == 0 { writer = true; return }
        await withCheckedContinuation { writerWaiters.append($0) }
    }

    private func releaseExclusive() {
        if !writerWaiters.isEmpty {
            writerWaiters.removeFirst().resume()   // stays exclusive, handed over
            return
        }
        writer = false
        readers += readerWaiters.count
        let waiting = readerWaiters
        readerWaiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }
}

import Dispatch
import Foundation

/// SIGTERM and SIGINT as events: the default action (die at once) is replaced by an orderly stop.
///
/// The first signal asks the server to stop; a second one asks it to stop without waiting for running
/// actions. Handlers run on a dispatch queue, never inside the signal handler itself.
final class TerminationSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []
    private var received: [String] = []
    private var handler: (@Sendable (String, Int) -> Void)?

    /// Starts catching SIGTERM and SIGINT; `handler` gets the signal's name and how many signals came so far.
    init(handler: @escaping @Sendable (String, Int) -> Void) {
        self.handler = handler
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.deliver(name) }
            source.resume()
            sources.append(source)
        }
    }

    private func deliver(_ name: String) {
        let (count, handler) = lock.withLock { () -> (Int, (@Sendable (String, Int) -> Void)?) in
            received.append(name)
            return (received.count, self.handler)
        }
        handler?(name, count)
    }

    /// Stops catching (the signals stay ignored until the process ends).
    func cancel() {
        lock.withLock {
            handler = nil
            for source in sources { source.cancel() }
            sources.removeAll()
        }
    }
}

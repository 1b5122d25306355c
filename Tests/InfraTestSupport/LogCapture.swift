import Foundation
import Logging

/// A swift-log handler that records messages, so tests can assert what was logged.
public final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [(level: Logger.Level, message: String)] = []

    public init() {}

    /// A logger that writes into this capture.
    public func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(capture: self) }
    }

    /// Everything recorded so far.
    public var messages: [(level: Logger.Level, message: String)] { lock.withLock { records } }

    fileprivate func record(_ level: Logger.Level, _ message: String) { lock.withLock { records.append((level, message)) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let extra = (event.metadata ?? [:]).merging(metadata) { a, _ in a }.map { "\($0)=\($1)" }.sorted().joined(separator: " ")
            capture.record(event.level, "\(event.message) \(extra)")
        }
    }
}

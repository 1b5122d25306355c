import Foundation
import Logging

/// Logging for every command: to stderr only, because stdout belongs to the MCP stdio transport.
public enum LogSetup {
    private static let done = NSLock()
    nonisolated(unsafe) private static var installed = false

    /// Installs the stderr handler at `level` (a swift-log level name). The first call wins; later calls
    /// (a command that loads its configuration twice) change nothing.
    public static func bootstrap(level: String) {
        let first = done.withLock { () -> Bool in
            defer { installed = true }
            return !installed
        }
        guard first else { return }
        let parsed = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
    }
}

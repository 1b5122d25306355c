import Logging

/// Logging for every command: to stderr only, because stdout belongs to the MCP stdio transport.
public enum LogSetup {
    /// Installs the stderr handler at `level` (a swift-log level name). Call once, early.
    public static func bootstrap(level: String) {
        let parsed = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
    }
}

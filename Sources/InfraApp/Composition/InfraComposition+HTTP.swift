import InfraDomain

/// What `serve` reads to decide between stdio and HTTP, and how to serve HTTP.
public struct HTTPServing: Sendable {
    /// LINUX_MCP_HTTP_LISTEN, or nil for stdio.
    public var listen: HTTPListenAddress?
    /// LINUX_MCP_HTTP_ORIGINS.
    public var origins: [String]
    /// LINUX_MCP_HTTP_SESSION_IDLE_SECONDS.
    public var sessionIdle: Duration
    /// LINUX_MCP_HTTP_MAX_SESSIONS.
    public var maxSessions: Int
    /// LINUX_MCP_HTTP_MAX_SESSIONS_PER_TOKEN.
    public var maxSessionsPerToken: Int
    /// LINUX_MCP_HTTP_MAX_CONNECTIONS.
    public var maxConnections: Int
    /// LINUX_MCP_HTTP_KEEPALIVE_SECONDS.
    public var keepalive: Duration
    /// LINUX_MCP_MAX_MESSAGE_BYTES.
    public var maxMessageBytes: Int
    /// The clients' tokens (LINUX_MCP_HTTP_TOKENS).
    public var tokens: ClientTokenFile
}

extension InfraComposition {
    /// The HTTP side of the settings (`serve`, `serve --http`): needs only the settings.
    public static func httpServing(envFile: String?) throws(Failure) -> HTTPServing {
        let settings = try settings(envFile: envFile)
        return HTTPServing(listen: settings.httpListen, origins: settings.httpOrigins, sessionIdle: settings.httpSessionIdle,
                           maxSessions: settings.httpMaxSessions,
                           maxSessionsPerToken: settings.httpMaxSessionsPerToken, maxConnections: settings.httpMaxConnections, keepalive: settings.httpKeepalive, maxMessageBytes: settings.maxMessageBytes,
                           tokens: ClientTokenFile(path: settings.httpTokensPath))
    }
}

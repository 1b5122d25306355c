import InfraDomain

/// The limits of an ``SSHPool``; normally taken from ``Settings``.
public struct SSHPoolOptions: Sendable {
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    public var maxOutputBytes: Int
    public var idleTimeout: Duration
    public var keepaliveSeconds: Int
    public var maxHandshakesPerHost: Int
    public var maxSessionsPerHost: Int
    public var maxChannelsPerSession: Int

    /// Creates options from explicit values.
    public init(connectTimeout: Duration = .seconds(5), commandTimeout: Duration = .seconds(30),
                maxOutputBytes: Int = 1 << 20, idleTimeout: Duration = .seconds(300), keepaliveSeconds: Int = 30,
                maxHandshakesPerHost: Int = 4, maxSessionsPerHost: Int = 4, maxChannelsPerSession: Int = 8) {
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maxOutputBytes = maxOutputBytes
        self.idleTimeout = idleTimeout
        self.keepaliveSeconds = keepaliveSeconds
        self.maxHandshakesPerHost = maxHandshakesPerHost
        self.maxSessionsPerHost = maxSessionsPerHost
        self.maxChannelsPerSession = maxChannelsPerSession
    }

    /// Takes the pool limits from the validated settings.
    public init(settings: Settings) {
        self.init(connectTimeout: settings.connectTimeout, commandTimeout: settings.commandTimeout,
                  maxOutputBytes: settings.maxOutputBytes, idleTimeout: settings.poolIdleTimeout,
                  keepaliveSeconds: settings.keepaliveSeconds, maxHandshakesPerHost: settings.maxHandshakesPerHost,
                  maxSessionsPerHost: settings.maxSessionsPerHost, maxChannelsPerSession: settings.maxChannelsPerSession)
    }
}

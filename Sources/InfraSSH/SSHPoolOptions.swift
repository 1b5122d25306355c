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
    /// SSH I/O threads that carry every session of the pool, whatever the number of hosts.
    public var ioThreads: Int

    /// Creates options from explicit values.
    public init(connectTimeout: Duration = .seconds(5), commandTimeout: Duration = .seconds(30),
                maxOutputBytes: Int = 1 << 20, idleTimeout: Duration = .seconds(300), keepaliveSeconds: Int = 30,
                maxHandshakesPerHost: Int = 4, maxSessionsPerHost: Int = 4, maxChannelsPerSession: Int = 8,
                ioThreads: Int = 2) {
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maxOutputBytes = maxOutputBytes
        self.idleTimeout = idleTimeout
        self.keepaliveSeconds = keepaliveSeconds
        self.maxHandshakesPerHost = maxHandshakesPerHost
        self.maxSessionsPerHost = maxSessionsPerHost
        self.maxChannelsPerSession = maxChannelsPerSession
        self.ioThreads = ioThreads
    }

    /// Takes the pool limits from the validated settings.
    public init(settings: Settings) {
        self.init(connectTimeout: settings.connectTimeout, commandTimeout: settings.commandTimeout,
                  maxOutputBytes: settings.maxOutputBytes, idleTimeout: settings.poolIdleTimeout,
                  keepaliveSeconds: settings.keepaliveSeconds, maxHandshakesPerHost: settings.maxHandshakesPerHost,
                  maxSessionsPerHost: settings.maxSessionsPerHost, maxChannelsPerSession: settings.maxChannelsPerSession,
                  ioThreads: settings.sshIOThreads)
    }
}

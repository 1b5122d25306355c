/// What the remote-execution port holds open right now (the `/metrics` pool gauges).
public struct RemoteLoad: Sendable, Equatable {
    /// Sessions open and usable, over every host and account.
    public var sessionsOpen: Int
    /// Handshakes running (connect, key exchange, authentication), over every host.
    public var handshakesInFlight: Int

    /// A load from its two counts.
    public init(sessionsOpen: Int, handshakesInFlight: Int) {
        self.sessionsOpen = sessionsOpen
        self.handshakesInFlight = handshakesInFlight
    }

    /// Nothing open.
    public static let idle = RemoteLoad(sessionsOpen: 0, handshakesInFlight: 0)
}

extension RemoteExec {
    /// A port that keeps nothing open (the tests' fakes) reports itself idle.
    public func load() async -> RemoteLoad { .idle }
}

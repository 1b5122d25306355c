import Foundation

/// The last thing the server learnt about each host's reachability through the reader account: from a
/// probe (mcp-wrapper's `version`, as `doctor` runs it) or from any diagnostic since.
public actor ReachabilityLog {
    /// One host's last observation.
    public struct Observation: Sendable, Equatable {
        public var reachable: Bool
        public var at: Date
        /// The forced command's version line, or why the host was not reached.
        public var detail: String
        public var latency: Duration
    }

    private var observations: [String: Observation] = [:]

    /// An empty log.
    public init() {}

    /// Records that a request reached the host's forced command (whatever it answered) or failed before it.
    public func record(_ host: String, reachable: Bool, detail: String, latency: Duration) {
        observations[host] = Observation(reachable: reachable, at: Date(), detail: detail, latency: latency)
    }

    /// What was last seen of `host`, or nil when nothing was.
    public func observation(of host: String) -> Observation? {
        observations[host]
    }
}

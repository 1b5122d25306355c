import Foundation
import MCP

/// The last thing the server learnt about each host's reachability through the reader account: from a
/// `list_hosts` probe (mcp-wrapper's `version`, as `doctor` runs it) or from any tool call since.
actor ReachabilityLog {
    /// One host's last observation.
    struct Observation: Sendable {
        var reachable: Bool
        var at: Date
        var detail: String
        var latency: Duration
    }

    private var observations: [String: Observation] = [:]

    /// Records that a request reached the host's forced command (whatever it answered) or failed before it.
    func record(_ host: String, reachable: Bool, detail: String, latency: Duration) {
        observations[host] = Observation(reachable: reachable, at: Date(), detail: detail, latency: latency)
    }

    /// `{"state": "reachable" | "unreachable" | "unknown", "checkedAt", "latencyMs", "detail"}`.
    func value(for host: String) -> Value {
        guard let seen = observations[host] else { return .object(["state": "unknown"]) }
        return .object(["state": .string(seen.reachable ? "reachable" : "unreachable"),
                        "checkedAt": .string(ISO8601DateFormatter().string(from: seen.at)),
                        "latencyMs": .int(Int(seen.latency.milliseconds)), "detail": .string(seen.detail)])
    }

    /// The schema of ``value(for:)``.
    static let schema: Value = .object([
        "type": "object",
        "properties": .object([
            "state": .object(["type": "string", "enum": ["reachable", "unreachable", "unknown"]]),
            "checkedAt": .object(["type": "string", "description": "When (ISO 8601, UTC)."]),
            "latencyMs": .object(["type": "integer", "minimum": 0]),
            "detail": .object(["type": "string", "description": "The forced command's version line, or why the host was not reached."]),
        ]),
        "required": ["state"],
    ])
}

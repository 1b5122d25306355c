import InfraDomain

/// Everything that can go wrong reaching a host or running a command on it.
///
/// ``isRetryable`` is true only when nothing was sent that could have started the command, so a
/// retry can never run a command twice.
public enum SSHError: Error, Sendable, Equatable, CustomStringConvertible {
    case connectFailed(host: String, endpoint: String, reason: String)
    case handshakeFailed(host: String, reason: String, retryable: Bool)
    case hostKey(HostKeyError)
    case authenticationFailed(host: String, user: String, reason: String)
    case timeout(host: String, phase: String, limit: Duration, commandSent: Bool)
    case channelUnavailable(host: String, reason: String)
    case execRefused(host: String, reason: String)
    case connectionLost(host: String, reason: String, commandSent: Bool)

    /// True when the failure happened before the command could have started on the host.
    public var isRetryable: Bool {
        switch self {
        case .handshakeFailed(_, _, let retryable): return retryable
        case .channelUnavailable: return true
        case .connectionLost(_, _, let sent): return !sent
        default: return false
        }
    }

    public var description: String {
        switch self {
        case let .connectFailed(host, endpoint, reason):
            return "cannot connect to \(host) at \(endpoint): \(reason)"
        case let .handshakeFailed(host, reason, _):
            return "SSH handshake with \(host) failed: \(reason). The target must offer an ed25519 or ECDSA host key, "
                + "aes*-ctr ciphers and hmac-sha2-256/512 (non-ETM) MACs; see docs/SSH-AGENT-SECURITY.md"
        case let .hostKey(error):
            return error.description
        case let .authenticationFailed(host, user, reason):
            return "authentication as \(user) on \(host) failed: \(reason)"
        case let .timeout(host, phase, limit, sent):
            return "timed out after \(limit) on \(host) during \(phase)"
                + (sent ? "; the command may still be running on the host until its own time limit" : "")
        case let .channelUnavailable(host, reason):
            return "no SSH channel could be opened on \(host): \(reason)"
        case let .execRefused(host, reason):
            return "\(host) refused to start the command: \(reason)"
        case let .connectionLost(host, reason, sent):
            return "connection to \(host) lost \(sent ? "while the command ran" : "before the command was sent"): \(reason)"
        }
    }
}

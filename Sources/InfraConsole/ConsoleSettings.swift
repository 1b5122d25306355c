import Foundation

/// How the review console behaves: its cookies and how long a challenge and a session last.
public struct ConsoleSettings: Sendable {
    /// Mark the cookies `Secure`: set it when browsers reach the console over TLS (a proxy such as caddy in front).
    public var secureCookies: Bool
    /// How long a login challenge may be answered.
    public var challengeLifetime: TimeInterval
    /// A session ends after this long without a request.
    public var sessionIdle: TimeInterval
    /// A session ends this long after its login, whatever it does.
    public var sessionLifetime: TimeInterval
    /// Audit rows per page.
    public var auditPageSize: Int

    /// Settings; the defaults keep a session short: 5 minutes to answer a challenge, 15 idle, 8 hours at most.
    public init(secureCookies: Bool = false, challengeLifetime: TimeInterval = 300, sessionIdle: TimeInterval = 900,
                sessionLifetime: TimeInterval = 8 * 3600, auditPageSize: Int = 50) {
        self.secureCookies = secureCookies
        self.challengeLifetime = challengeLifetime
        self.sessionIdle = sessionIdle
        self.sessionLifetime = sessionLifetime
        self.auditPageSize = auditPageSize
    }
}

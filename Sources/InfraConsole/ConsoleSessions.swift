import Foundation
import InfraDomain

/// The console's state, in memory only: the login challenges not yet answered (each single-use) and the open
/// sessions, kept by the SHA-256 of their id (the id itself lives only in the browser's cookie). A restart
/// logs everyone out. Time comes from the clock given, so tests move it instead of sleeping.
final class ConsoleSessions: @unchecked Sendable {
    /// One logged-in approver.
    struct Session: Sendable {
        /// The principal the login signature proved.
        var principal: String
        /// The fingerprint of the key that signed the login.
        var fingerprint: String
        /// This session's CSRF token, sent back by every form.
        var csrf: String
        var opened: Date
        var lastSeen: Date
    }

    /// Challenges and sessions kept at most: past it the oldest go first.
    static let maxChallenges = 1024, maxSessions = 256

    private let lock = NSLock()
    private var challenges: [String: Date] = [:]
    private var sessions: [String: Session] = [:]
    private let settings: ConsoleSettings
    private let now: @Sendable () -> Date

    init(settings: ConsoleSettings, now: @escaping @Sendable () -> Date) {
        self.settings = settings
        self.now = now
    }

    /// `count` bytes from the system's secure generator.
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// A new challenge, kept until it is answered or expires.
    func challenge() -> ConsoleLogin {
        let date = now()
        let login = ConsoleLogin(random: Self.random(ConsoleLogin.nonceBytes), notAfter: date + settings.challengeLifetime)
        lock.withLock {
            challenges = challenges.filter { $0.value >= date }
            if challenges.count >= Self.maxChallenges, let oldest = challenges.min(by: { $0.value < $1.value }) {
                challenges[oldest.key] = nil
            }
            challenges[login.nonce] = login.notAfter
        }
        return login
    }

    /// The challenge of `nonce`, removed whatever happens next (single-use), or nil when none was given out.
    func take(nonce: String) -> ConsoleLogin? {
        lock.withLock { challenges.removeValue(forKey: nonce) }.map { ConsoleLogin(nonce: nonce, notAfter: $0) }
    }

    /// Opens a session for `approver`; returns the id for the cookie (256 random bits) and the session.
    func open(_ approver: Approver) -> (id: String, session: Session) {
        let date = now()
        let id = ConsoleSecret(random: Self.random(32)).text
        let session = Session(principal: approver.principal, fingerprint: approver.key.fingerprint,
                              csrf: ConsoleSecret(random: Self.random(32)).text, opened: date, lastSeen: date)
        lock.withLock {
            sessions = sessions.filter { live($0.value, at: date) }
            if sessions.count >= Self.maxSessions, let oldest = sessions.min(by: { $0.value.lastSeen < $1.value.lastSeen }) {
                sessions[oldest.key] = nil
            }
            sessions[ConsoleSecret.hash(id)] = session
        }
        return (id, session)
    }

    /// The live session of cookie value `id` (its idle time restarts), or nil; an expired one is removed.
    func session(id: String) -> Session? {
        let date = now(), key = ConsoleSecret.hash(id)
        return lock.withLock {
            guard var session = sessions[key] else { return nil }
            guard live(session, at: date) else {
                sessions[key] = nil
                return nil
            }
            session.lastSeen = date
            sessions[key] = session
            return session
        }
    }

    /// Ends the session of cookie value `id`.
    func close(id: String) {
        _ = lock.withLock { sessions.removeValue(forKey: ConsoleSecret.hash(id)) }
    }

    private func live(_ session: Session, at date: Date) -> Bool {
        date.timeIntervalSince(session.lastSeen) < settings.sessionIdle && date.timeIntervalSince(session.opened) < settings.sessionLifetime
    }
}

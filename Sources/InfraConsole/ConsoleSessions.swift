import Foundation
import InfraDomain

/// The console's state, in memory only: the key that signs login challenges (nothing is kept per challenge
/// given out: ``ConsoleLogin/issue(random:notAfter:key:)``), the challenges answered with a valid signature
/// until they expire (each is single-use), and the open sessions, kept by the SHA-256 of their id (the id
/// itself lives only in the browser's cookie). A restart logs everyone out. Time comes from the clock given,
/// so tests move it instead of sleeping.
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

    /// Sessions kept at most: past it the oldest go first.
    static let maxSessions = 256

    private let lock = NSLock()
    /// This process's challenge key.
    private let key = ConsoleSessions.random(32)
    /// Challenges that opened a session, until they expire: none opens a second one.
    private var used: [String: Date] = [:]
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

    /// A new challenge (nothing is stored: its nonce carries its end and this process's MAC).
    func challenge() -> ConsoleLogin {
        ConsoleLogin.issue(random: Self.random(8), notAfter: now() + settings.challengeLifetime, key: key)
    }

    /// The challenge of `nonce` when this process gave it out and it has not opened a session yet; nil otherwise.
    func challenge(nonce: String) -> ConsoleLogin? {
        guard let login = ConsoleLogin.issued(nonce: nonce, key: key) else { return nil }
        return lock.withLock { used[nonce] == nil } ? login : nil
    }

    /// Marks `login` used (its signature opened a session); false when it was already (two answers at once).
    func use(_ login: ConsoleLogin) -> Bool {
        let date = now()
        return lock.withLock {
            used = used.filter { $0.value >= date }
            guard used[login.nonce] == nil else { return false }
            used[login.nonce] = login.notAfter
            return true
        }
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

import Foundation
import MCP

/// The open HTTP MCP sessions: each bound to the name of the token that opened it, closed when idle past its
/// limit or when the server stops. A session is found only with its id *and* the same token's name: another
/// token never reaches it, whatever id it sends.
actor MCPSessionTable {
    /// One open session.
    struct Session {
        let transport: SessionTransport
        let server: Server
        /// The token's name, the caller of everything this session does.
        let client: String
        var lastUsed: ContinuousClock.Instant
        /// HTTP requests of this session being answered now (an idle sweep never closes a busy session).
        var inFlight = 0
    }

    private var sessions: [String: Session] = [:]
    /// Sessions being opened (initialize sent, id not known yet): they count against the limit.
    private var opening = 0
    private var closed = false
    let maxSessions: Int
    let idleLimit: Duration

    init(maxSessions: Int, idleLimit: Duration) {
        self.maxSessions = maxSessions
        self.idleLimit = idleLimit
    }

    /// Reserves a place for a new session, or false when the table is full or closed.
    func reserve() -> Bool {
        guard !closed, sessions.count + opening < maxSessions else { return false }
        opening += 1
        return true
    }

    /// Adds the session `id` (after its initialize answered), releasing the reservation; false when the server
    /// is stopping (the caller then closes it).
    func add(id: String, _ session: Session) -> Bool {
        opening -= 1
        guard !closed else { return false }
        sessions[id] = session
        return true
    }

    /// Releases a reservation whose initialize failed.
    func release() {
        opening -= 1
    }

    /// The session `id` of `client`, marked busy until ``done(_:)``; nil when there is none for that client.
    func begin(_ id: String, client: String, now: ContinuousClock.Instant = .now) -> Session? {
        guard var session = sessions[id], session.client == client else { return nil }
        session.inFlight += 1
        session.lastUsed = now
        sessions[id] = session
        return session
    }

    /// Marks one request of `id` answered.
    func done(_ id: String, now: ContinuousClock.Instant = .now) {
        guard var session = sessions[id] else { return }
        session.inFlight -= 1
        session.lastUsed = now
        sessions[id] = session
    }

    /// Removes the session `id` (the client sent DELETE, or its token was revoked); returns it to be closed.
    func remove(_ id: String) -> Session? {
        sessions.removeValue(forKey: id)
    }

    /// Removes and returns every session of `client` (its token was revoked).
    func removeAll(of client: String) -> [Session] {
        let ids = sessions.filter { $0.value.client == client }.map(\.key)
        return ids.compactMap { sessions.removeValue(forKey: $0) }
    }

    /// Removes and returns the sessions idle past the limit with no request in flight.
    func expired(now: ContinuousClock.Instant = .now) -> [Session] {
        let ids = sessions.filter { $0.value.inFlight == 0 && $0.value.lastUsed.duration(to: now) >= idleLimit }.map(\.key)
        return ids.compactMap { sessions.removeValue(forKey: $0) }
    }

    /// Takes no new session and returns every open one, to be closed.
    func closeAll() -> [Session] {
        closed = true
        defer { sessions.removeAll() }
        return Array(sessions.values)
    }

    /// How many sessions are open.
    var count: Int { sessions.count }
}

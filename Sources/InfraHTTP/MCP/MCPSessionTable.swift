import Foundation
import MCP

/// The open HTTP MCP sessions: each bound to the name of the token that opened it, closed when idle past its
/// limit, when its token is revoked, when it has carried its share of answers, or when the server stops. A
/// session is found only with its id *and* the same token's name: another token never reaches it, whatever
/// id it sends. One token holds at most ``maxPerToken`` sessions, so one client cannot take every place.
actor MCPSessionTable {
    /// One open session.
    struct Session {
        let transport: SessionTransport
        let server: Server
        /// The token's name, the caller of everything this session does.
        let client: String
        var lastUsed: ContinuousClock.Instant
        /// Requests of this session being answered now (a GET stream that only waits does not count: an idle
        /// session with an open stream still expires).
        var inFlight = 0
        /// The SSE responses open now; closing the session ends them.
        let streams = SessionStreams()
        /// Bytes of answers sent: the SDK's transport keeps every event of a session until it ends, so a session
        /// is closed once it carried ``MCPSessionTable/answerBudget``.
        var answered = 0
        /// The JSON-RPC ids of the requests in progress (one id answers one stream: a second is refused).
        var active: Set<String> = []
    }

    /// Why a request finds no session to run in.
    enum Refused: Error, Equatable {
        /// No session with this id for this token.
        case unknown
        /// A request with this JSON-RPC id is in progress in the session already.
        case duplicate
        /// The session carried its budget of answers: it is closing.
        case spent
    }

    private var sessions: [String: Session] = [:]
    /// Sessions being opened (initialize sent, id not known yet), by token name: they count against the limits.
    private var opening: [String: Int] = [:]
    private var closed = false
    let maxSessions: Int
    let maxPerToken: Int
    let idleLimit: Duration
    /// What a session may carry before it is closed (the client initializes a new one).
    let answerBudget: Int

    init(maxSessions: Int, maxPerToken: Int, idleLimit: Duration, answerBudget: Int = 64 << 20) {
        self.maxSessions = maxSessions
        self.maxPerToken = maxPerToken
        self.idleLimit = idleLimit
        self.answerBudget = answerBudget
    }

    /// Why a place was refused.
    enum Full: Error {
        case table, token, stopping
    }

    /// Reserves a place for a new session of `client`.
    func reserve(for client: String) throws(Full) {
        guard !closed else { throw .stopping }
        guard sessions.count + opening.values.reduce(0, +) < maxSessions else { throw .table }
        guard sessions.values.filter({ $0.client == client }).count + opening[client, default: 0] < maxPerToken else { throw .token }
        opening[client, default: 0] += 1
    }

    /// Adds the session `id` (after its initialize answered), releasing the reservation; false when the server
    /// is stopping (the caller then closes it).
    func add(id: String, _ session: Session) -> Bool {
        release(session.client)
        guard !closed else { return false }
        sessions[id] = session
        return true
    }

    /// Releases a reservation of `client` whose initialize failed.
    func release(_ client: String) {
        opening[client, default: 1] -= 1
        if opening[client] == 0 { opening[client] = nil }
    }

    /// The session `id` of `client`, marked used (and busy until ``done(_:request:answered:busy:now:)`` when
    /// `busy`), with `request` (a JSON-RPC id) in progress.
    func begin(_ id: String, client: String, request: String? = nil, busy: Bool = true,
               now: ContinuousClock.Instant = .now) throws(Refused) -> Session {
        guard var session = sessions[id], session.client == client else { throw .unknown }
        guard session.answered < answerBudget else { throw .spent }
        if let request {
            guard !session.active.contains(request) else { throw .duplicate }
            session.active.insert(request)
        }
        if busy { session.inFlight += 1 }
        session.lastUsed = now
        sessions[id] = session
        return session
    }

    /// Marks one request of `id` answered with `bytes`; returns the session when it has now carried its budget
    /// (it is removed, to be closed).
    func done(_ id: String, request: String? = nil, answered bytes: Int = 0, busy: Bool = true,
              now: ContinuousClock.Instant = .now) -> Session? {
        guard var session = sessions[id] else { return nil }
        if busy { session.inFlight = max(0, session.inFlight - 1) }
        if let request { session.active.remove(request) }
        session.lastUsed = now
        session.answered += bytes
        sessions[id] = session
        guard session.answered >= answerBudget, session.inFlight == 0 else { return nil }
        return sessions.removeValue(forKey: id)
    }

    /// Removes the session `id` (the client sent DELETE); returns it to be closed.
    func remove(_ id: String) -> Session? {
        sessions.removeValue(forKey: id)
    }

    /// Removes and returns every session whose token's name is not in `valid` (revoked, or gone from the file).
    func removeAll(except valid: Set<String>) -> [Session] {
        let ids = sessions.filter { !valid.contains($0.value.client) }.map(\.key)
        return ids.compactMap { sessions.removeValue(forKey: $0) }
    }

    /// Removes and returns the sessions idle past the limit with no request in flight, and those that carried
    /// their budget whatever still runs (closing them ends their streams).
    func expired(now: ContinuousClock.Instant = .now) -> [Session] {
        let ids = sessions.filter {
            ($0.value.inFlight == 0 && $0.value.lastUsed.duration(to: now) >= idleLimit) || $0.value.answered >= answerBudget
        }.map(\.key)
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

import Foundation

/// One request's hold on its session: released once its answer is sent, or, when the answer never starts (the
/// client reset the connection first, so the response body never runs), when the ticket is dropped. Either
/// way the session's count of requests in progress goes back down, so idle expiry, the budget and the
/// token's share keep working.
final class SessionTicket: @unchecked Sendable {
    let sessions: MCPSessionTable
    let id: String
    let request: String?
    let busy: Bool
    /// The request's progress token and its session's transport, to stop routing its progress when dropped.
    let progress: (token: String, transport: SessionTransport)?
    private let lock = NSLock()
    private var released = false

    init(sessions: MCPSessionTable, id: String, request: String?, busy: Bool, progress: (token: String, transport: SessionTransport)? = nil) {
        self.sessions = sessions
        self.id = id
        self.request = request
        self.busy = busy
        self.progress = progress
    }

    /// Releases the hold after `bytes` of answer; returns the session when it is now spent (to be closed).
    func release(answered bytes: Int) async -> MCPSessionTable.Session? {
        guard lock.withLock({ () -> Bool in
            defer { released = true }
            return !released
        }) else { return nil }
        return await sessions.done(id, request: request, answered: bytes, busy: busy)
    }

    deinit {
        guard !released else { return }
        let sessions = self.sessions, id = self.id, request = self.request, busy = self.busy, progress = self.progress
        Task {
            if let progress { await progress.transport.unrelate(progress.token) }
            if let spent = await sessions.done(id, request: request, busy: busy) { await MCPEndpoint.close(spent) }
        }
    }
}

import Foundation
import InfraMCP
import Logging
import ServiceLifecycle

/// The MCP side of an orderly stop, as a service of the front's group: until the group shuts down it closes
/// idle sessions and those whose token was revoked (a few seconds after `tokens revoke`); then it takes no new session or call, lets running actions finish within the grace
/// period (``MCPServer/drain(reason:)``), and closes every session so that their SSE streams end and the
/// listener can stop.
final class MCPDrain: Service, @unchecked Sendable {
    let mcp: MCPServer
    let sessions: MCPSessionTable
    let authenticator: ClientAuthenticator
    let sweep: Duration
    let logger: Logger
    private let lock = NSLock()
    private var drained = MCPServer.Drained(abandoned: [], callsStillRunning: 0)

    init(mcp: MCPServer, sessions: MCPSessionTable, authenticator: ClientAuthenticator, sweep: Duration, logger: Logger) {
        self.mcp = mcp
        self.sessions = sessions
        self.authenticator = authenticator
        self.sweep = sweep
        self.logger = logger
    }

    /// Why the server stopped.
    let reason = "SIGTERM or SIGINT"

    /// What the drain left behind.
    var result: MCPServer.Drained { lock.withLock { drained } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.sweep)
                for session in await self.sessions.expired() {
                    self.logger.info("idle MCP session closed", metadata: ["client": "\(session.client)"])
                    await MCPEndpoint.close(session)
                }
                // The tokens file is read again only when it changed (a stat each time).
                if let valid = self.authenticator.validNames(scope: .mcp) {
                    for session in await self.sessions.removeAll(except: valid) {
                        self.logger.notice("MCP session closed: its token was revoked", metadata: ["client": "\(session.client)"])
                        await MCPEndpoint.close(session)
                    }
                }
            }
        }
        let result = await mcp.drain(reason: reason)
        lock.withLock { drained = result }
        for session in await sessions.closeAll() { await MCPEndpoint.close(session) }
    }
}

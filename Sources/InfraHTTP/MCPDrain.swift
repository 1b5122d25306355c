import Foundation
import InfraMCP
import Logging
import ServiceLifecycle

/// The MCP side of an orderly stop, as a service of the front's group: until the group shuts down it closes
/// idle sessions; then it takes no new session or call, lets running actions finish within the grace
/// period (``MCPServer/drain(reason:)``), and closes every session so that their SSE streams end and the
/// listener can stop.
final class MCPDrain: Service, @unchecked Sendable {
    let mcp: MCPServer
    let sessions: MCPSessionTable
    let idleSweep: Duration
    let logger: Logger
    private let lock = NSLock()
    private var drained = MCPServer.Drained(abandoned: [], callsStillRunning: 0)

    init(mcp: MCPServer, sessions: MCPSessionTable, idleSweep: Duration, logger: Logger) {
        self.mcp = mcp
        self.sessions = sessions
        self.idleSweep = idleSweep
        self.logger = logger
    }

    /// Why the server stopped.
    let reason = "SIGTERM or SIGINT"

    /// What the drain left behind.
    var result: MCPServer.Drained { lock.withLock { drained } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.idleSweep)
                for session in await self.sessions.expired() {
                    self.logger.info("idle MCP session closed", metadata: ["client": "\(session.client)"])
                    await MCPEndpoint.close(session)
                }
            }
        }
        let result = await mcp.drain(reason: reason)
        lock.withLock { drained = result }
        for session in await sessions.closeAll() { await MCPEndpoint.close(session) }
    }
}

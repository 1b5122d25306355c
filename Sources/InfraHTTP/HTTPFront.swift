import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import InfraApp
import InfraConsole
import InfraDomain
import InfraMCP
import Logging
import MCP
import ServiceLifecycle

/// `serve --http`: Streamable HTTP MCP at `/mcp` behind named bearer tokens, the review console at `/`,
/// `/healthz`, on Hummingbird; SIGTERM or SIGINT stops it in order (``MCPDrain``).
public struct HTTPFront: Sendable {
    /// What the front needs besides the MCP server.
    public struct Configuration: Sendable {
        /// Where to listen (loopback unless ``allowRemote``).
        public var listen: HTTPListenAddress
        /// The operator allowed an address outside loopback (`serve --allow-remote`).
        public var allowRemote: Bool
        /// Origins allowed besides loopback ones (the TLS proxy's public origin).
        public var origins: [String]
        /// An MCP session unused this long is closed.
        public var sessionIdle: Duration
        /// Most MCP sessions at once.
        public var maxSessions: Int
        /// Most MCP sessions of one token at once.
        public var maxSessionsPerToken: Int
        /// Most TCP connections at once (beyond it the listener stops accepting until one closes).
        public var maxConnections: Int
        /// Largest request body.
        public var maxMessageBytes: Int
        /// How often a silent SSE stream gets a keepalive comment.
        public var heartbeat: Duration
        /// A connection that sends no complete request for this long is closed (slow or silent clients).
        public var connectionIdle: Duration

        /// The front's configuration.
        public init(listen: HTTPListenAddress, allowRemote: Bool, origins: [String], sessionIdle: Duration, maxSessions: Int,
                    maxSessionsPerToken: Int = 8, maxConnections: Int = 1024, maxMessageBytes: Int, heartbeat: Duration = .seconds(15),
                    connectionIdle: Duration = .seconds(30)) {
            self.listen = listen
            self.allowRemote = allowRemote
            self.origins = origins
            self.sessionIdle = sessionIdle
            self.maxSessions = maxSessions
            self.maxSessionsPerToken = maxSessionsPerToken
            self.maxConnections = maxConnections
            self.maxMessageBytes = maxMessageBytes
            self.heartbeat = heartbeat
            self.connectionIdle = connectionIdle
        }
    }

    /// Why the front will not start; each says what to do.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    let mcp: MCPServer
    let tokens: ClientTokenFile
    let console: ReviewConsole?
    let configuration: Configuration
    let version: String
    let logger: Logger

    /// The front over `mcp`, for the clients of `tokens`, with the console when given.
    public init(mcp: MCPServer, tokens: ClientTokenFile, console: ReviewConsole?, configuration: Configuration, version: String, logger: Logger) {
        self.mcp = mcp
        self.tokens = tokens
        self.console = console
        self.configuration = configuration
        self.version = version
        self.logger = logger
    }

    /// Checks what would make serving pointless or unsafe: a non-loopback address not allowed explicitly, a
    /// tokens file that cannot be read, or one without a valid token.
    public func check() throws(Refusal) {
        guard configuration.listen.isLoopback || configuration.allowRemote else {
            throw Refusal(description: "\(configuration.listen) is not a loopback address: anyone who reaches it could try tokens. "
                          + "Listen on 127.0.0.1 and put a TLS proxy in front (docs/HTTP.md), or pass --allow-remote to mean it")
        }
        let authenticator = ClientAuthenticator(file: tokens, logger: logger)
        let current: ClientTokens
        do { current = try authenticator.tokens() } catch {
            throw Refusal(description: "\(error); create a client token first: mcp-linux-infra tokens add NAME")
        }
        guard current.entries.contains(where: { $0.revoked == nil && $0.scope == .mcp }) else {
            throw Refusal(description: "\(tokens.path) holds no valid MCP token (scope mcp), so no client could connect: mcp-linux-infra tokens add NAME")
        }
    }

    /// Serves until SIGTERM or SIGINT, then stops in order: no new session or call, running actions finish within
    /// the grace period, sessions close, connections drain, the stop is audited. `listening` gets the address
    /// bound (with the port the system chose for port 0).
    public func run(listening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        try check()
        Self.raiseDescriptorLimit(logger: logger)
        let sessions = MCPSessionTable(maxSessions: configuration.maxSessions, maxPerToken: configuration.maxSessionsPerToken,
                                       idleLimit: configuration.sessionIdle)
        let authenticator = ClientAuthenticator(file: tokens, logger: logger)
        let origins = OriginPolicy(listen: configuration.listen, origins: configuration.origins)
        let endpoint = MCPEndpoint(mcp: mcp, sessions: sessions, authenticator: authenticator, origins: origins,
                                   maxMessageBytes: configuration.maxMessageBytes, heartbeat: configuration.heartbeat, version: version, logger: logger)
        let router = Router()
        router.add(middleware: BodyDeadlineMiddleware(limit: configuration.maxMessageBytes, deadline: .seconds(15)))
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain", .cacheControl: "no-store"],
                                                  body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        for method in [HTTPTypes.HTTPRequest.Method.post, .get, .delete] {
            router.on("/mcp", method: method) { request, _ in try await endpoint.respond(to: request) }
        }
        console?.register(on: router)
        MetricsEndpoint(front: self).register(on: router)
        try await mcp.started(version: version)
        let listen = configuration.listen
        let idle = configuration.connectionIdle.components
        let app = Application(router: router,
                              server: .http1(configuration: .init(idleTimeout: .seconds(idle.seconds) + .nanoseconds(idle.attoseconds / 1_000_000_000))),
                              configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: nil,
                                                   availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port ?? listen.port
                                  origins.bound(port: port)
                                  listening(HTTPListenAddress(host: listen.host, port: port).description)
                              }, logger: logger)
        let drain = MCPDrain(mcp: mcp, sessions: sessions, authenticator: authenticator,
                             sweep: min(configuration.sessionIdle / 4, .seconds(5)), logger: logger)
        // Stopped in reverse order: the drain first (sessions end, their streams close), then the listener.
        let group = ServiceGroup(configuration: .init(services: [app, drain], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await mcp.recordStop(reason: drain.reason, drained: drain.result)
    }

    /// Raises this process's soft limit of open files to its hard limit (at most 65536): every connection, SSH
    /// session and database file takes one, and systemd's default soft limit (1024) is below the connection cap.
    static func raiseDescriptorLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = min(limit.rlim_max, 65_536)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = wanted
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
            logger.warning("cannot raise the open-file limit", metadata: ["error": "\(String(cString: strerror(errno)))"])
        }
    }
}

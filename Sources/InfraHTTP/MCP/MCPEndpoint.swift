import Foundation
import InfraApp
import HTTPTypes
import Hummingbird
import InfraMCP
import Logging
import MCP

/// `/mcp`: Streamable HTTP MCP (POST, GET, DELETE) for clients holding a bearer token.
///
/// In order, each request: a foreign Origin or Host is refused (403, 421) whatever it carries; a missing,
/// unknown, revoked or other-scope token gets 401 with `WWW-Authenticate`; a body over the message limit
/// 413; a resumption (`Last-Event-ID`) 400, as this server keeps no stream to resume. An initialize opens a
/// session bound to the token's name (503 when the table or that token's share is full); any other request
/// must name a session of the same token (404 otherwise, as for an expired one). The SDK's transport then
/// answers; a call's progress goes on its own stream; silent streams get keepalive comments; a client that
/// goes away cancels its request.
struct MCPEndpoint: Sendable {
    let mcp: MCPServer
    let sessions: MCPSessionTable
    let authenticator: ClientAuthenticator
    /// The SDK's Origin and Host check, for loopback on the bound port plus the configured origins.
    let origins: OriginPolicy
    let maxMessageBytes: Int
    /// How often an SSE stream with nothing to say gets a comment (it also finds clients that went away).
    let heartbeat: Duration
    let version: String
    let logger: Logger

    /// Answers one request to `/mcp`.
    func respond(to request: Request) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        // HTTP/1.1's Host header arrives as the authority (HTTPTypes keeps it out of the fields).
        if let authority = request.head.authority { headers["host"] = authority }
        let method = request.method.rawValue
        // Before anything else: a page of another site (DNS rebinding included) never reaches a session.
        let bare = MCP.HTTPRequest(method: method, headers: headers)
        if let refused = origins.validator.validate(bare, context: .init(httpMethod: method, sessionID: nil, isInitializationRequest: false,
                                                                supportedProtocolVersions: [])) {
            logger.notice("HTTP request refused", metadata: ["status": "\(refused.statusCode)", "origin": "\(headers["origin"] ?? "-")",
                                                             "host": "\(headers["host"] ?? "-")"])
            return Self.plain(refused.statusCode, refused.statusCode == 403 ? "forbidden: this Origin is not allowed (LINUX_MCP_HTTP_ORIGINS)\n"
                                                                           : "misdirected: this Host is not served here\n")
        }
        let client: String
        switch authenticator.authenticate(authorization: headers["authorization"], scope: .mcp) {
        case .client(let name):
            client = name
        case .wrongScope(let name):
            logger.notice("HTTP request with a token of another scope refused", metadata: ["token": "\(name)"])
            return Self.unauthorized("invalid_token", "this token is not an MCP token (its scope is not mcp)\n")
        case .missing:
            return Self.unauthorized(nil, "a bearer token is required: Authorization: Bearer mlit_... (mcp-linux-infra tokens add NAME)\n")
        case .unknown:
            logger.notice("HTTP request with an unknown token refused")
            return Self.unauthorized("invalid_token", "this token is not valid\n")
        case .revoked(let name):
            logger.notice("HTTP request with a revoked token refused", metadata: ["token": "\(name)"])
            if let valid = authenticator.validNames(scope: .mcp) {
                for session in await sessions.removeAll(except: valid) { await Self.close(session) }
            }
            return Self.unauthorized("invalid_token", "this token was revoked\n")
        case .unavailable:
            return Self.unauthorized("invalid_token", "the server cannot read its tokens file; the operator must fix it (see the server log)\n")
        }
        let body: Data?
        do {
            let buffer = try await request.body.collect(upTo: maxMessageBytes)
            body = buffer.readableBytes == 0 ? nil : Data(buffer.readableBytesView)
        } catch {
            return Self.plain(413, "the message is larger than LINUX_MCP_MAX_MESSAGE_BYTES (\(maxMessageBytes))\n")
        }
        guard headers[HTTPHeaderName.lastEventID.lowercased()] == nil else {
            return Self.plain(400, "Last-Event-ID: this server does not resume streams; send the request again\n")
        }
        let sdkRequest = MCP.HTTPRequest(method: method, headers: headers, body: body, path: request.uri.path)
        guard let sessionID = headers[HTTPHeaderName.sessionID.lowercased()] else {
            guard method == "POST", let body, JSONRequestID.isInitialize(body) else {
                return Self.plain(400, "no MCP-Session-Id: open a session with initialize first\n")
            }
            return try await open(sdkRequest, client: client)
        }
        // A GET stream only waits for the server: it keeps the session from being idle no more than silence does.
        let busy = method != "GET"
        let requestID = method == "POST" ? body.flatMap(JSONRequestID.of) : nil
        let session: MCPSessionTable.Session
        do {
            session = try await sessions.begin(sessionID, client: client, request: requestID?.key, busy: busy)
        } catch .duplicate {
            return Self.plain(409, "a request with this JSON-RPC id is in progress in this session; use a new id\n")
        } catch {
            return Self.plain(404, "no such session for this token (it expired, was closed, or belongs to another token): initialize again\n")
        }
        // The relay exists before the request reaches the server: its first progress may come at once.
        let relay = SSERelay(heartbeat: heartbeat)
        let progress = body.flatMap(JSONRequestID.progressToken(ofRequest:))
        let related = if let progress { await session.transport.relate(progress, to: relay) } else { false }
        let ticket = SessionTicket(sessions: sessions, id: sessionID, request: requestID?.key, busy: busy,
                                   progress: related ? (progress!, session.transport) : nil)
        if progress != nil, !related {
            _ = await ticket.release(answered: 0)
            return Self.plain(409, "progress token in use by another request in progress in this session; use a new one\n")
        }
        let answer = await session.transport.http.handleRequest(sdkRequest)
        if method == "DELETE", answer.statusCode == 200, let removed = await sessions.remove(sessionID) {
            await Self.close(removed)
        }
        return response(answer, relay: relay, session: (sessionID, session, ticket), progress: progress, requestID: requestID)
    }

    /// Opens a session for `client` with its initialize request.
    func open(_ request: MCP.HTTPRequest, client: String) async throws -> Response {
        do {
            try await sessions.reserve(for: client)
        } catch {
            let why = switch error {
            case .table: "too many MCP sessions open (LINUX_MCP_HTTP_MAX_SESSIONS); close one or retry later"
            case .token: "this token holds its most sessions already (LINUX_MCP_HTTP_MAX_SESSIONS_PER_TOKEN); close one (DELETE) or retry later"
            case .stopping: "the server is stopping"
            }
            return Self.plain(503, why + "\n", retryAfter: true)
        }
        // The SDK logs session ids at info: they stay out of the log (an id is half of what reaches a session).
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let transport = SessionTransport(ids: RandomSessionID(), logger: quiet)
        let server: Server
        do {
            server = try await mcp.startSession(for: Caller.name(ofToken: client), on: transport, version: version)
        } catch {
            await sessions.release(client)
            throw error
        }
        let answer = await transport.http.handleRequest(request)
        guard answer.statusCode == 200, let id = answer.headers[HTTPHeaderName.sessionID] else {
            await sessions.release(client)
            let failed = MCPSessionTable.Session(transport: transport, server: server, client: client, lastUsed: .now)
            await Self.close(failed)
            return response(answer, relay: SSERelay(heartbeat: heartbeat), session: nil, progress: nil, requestID: nil)
        }
        let requestID = request.body.flatMap(JSONRequestID.of)
        var session = MCPSessionTable.Session(transport: transport, server: server, client: client, lastUsed: .now, inFlight: 1)
        if let requestID { session.active.insert(requestID.key) }
        guard await sessions.add(id: id, session) else {
            await Self.close(session)
            return Self.plain(503, "the server is stopping\n", retryAfter: true)
        }
        logger.info("MCP session opened", metadata: ["client": "\(client)"])
        let ticket = SessionTicket(sessions: sessions, id: id, request: requestID?.key, busy: true)
        return response(answer, relay: SSERelay(heartbeat: heartbeat), session: (id, session, ticket), progress: nil, requestID: requestID)
    }

    /// The SDK's answer as a Hummingbird response; once it is sent (or dropped unsent), the session's ticket is
    /// released (and the session closed if it has carried its budget). `relay` sends the stream, with the call's
    /// own progress (`progress`, its token).
    func response(_ answer: MCP.HTTPResponse, relay: SSERelay, session: (id: String, value: MCPSessionTable.Session, ticket: SessionTicket)?,
                  progress: String?, requestID: JSONRequestID?) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers { if let name = HTTPField.Name(name) { fields[name] = value } }
        fields[.cacheControl] = "no-store"
        guard case .stream(let stream, _) = answer else {
            if let session {
                Task {
                    if let progress { await session.value.transport.unrelate(progress) }
                    if let spent = await session.ticket.release(answered: 0) { await Self.close(spent) }
                }
            }
            let data = answer.bodyData ?? Data()
            return Response(status: .init(code: answer.statusCode), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let logger = self.logger
        let body = ResponseBody { writer in
            session?.value.streams.add(relay)
            var delivered = false, bytes = 0
            do {
                for try await chunk in relay.chunks(of: stream) {
                    bytes += chunk.count
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                delivered = relay.sourceEnded
                try await writer.finish(nil)
            } catch {
                delivered = false
            }
            if let session {
                session.value.streams.remove(relay)
                if let progress { await session.value.transport.unrelate(progress) }
                if !delivered, let requestID {
                    logger.notice("request cancelled: the HTTP client went away before its answer", metadata: ["request": "\(requestID)"])
                    await session.value.transport.requestAbandoned(requestID)
                }
                if let spent = await session.ticket.release(answered: bytes) {
                    logger.info("MCP session closed: it carried its share of answers; the client initializes a new one",
                                metadata: ["client": "\(spent.client)"])
                    await Self.close(spent)
                }
            }
        }
        return Response(status: .init(code: answer.statusCode), headers: fields, body: body)
    }

    /// Stops a session's server and closes its transport (its streams end).
    static func close(_ session: MCPSessionTable.Session) async {
        session.streams.finishAll()
        await session.transport.disconnect()
        await session.server.stop()
    }

    static func plain(_ status: Int, _ text: String, retryAfter: Bool = false) -> Response {
        var fields: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
        if retryAfter { fields[.retryAfter] = "5" }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func unauthorized(_ error: String?, _ text: String) -> Response {
        var response = plain(401, text)
        response.headers[.wwwAuthenticate] = "Bearer realm=\"mcp-linux-infra\"" + (error.map { ", error=\"\($0)\"" } ?? "")
        return response
    }
}

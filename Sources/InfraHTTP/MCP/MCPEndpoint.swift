import Foundation
import HTTPTypes
import Hummingbird
import InfraMCP
import Logging
import MCP

/// `/mcp`: Streamable HTTP MCP (POST, GET, DELETE) for clients holding a bearer token.
///
/// In order, each request: a foreign Origin or Host is refused (403, 421) whatever it carries; a missing,
/// unknown or revoked token gets 401 with `WWW-Authenticate`; a body over the message limit 413. An
/// initialize opens a session bound to the token's name (503 when the table is full); any other request
/// must name a session of the same token (404 otherwise, as for an expired one). The SDK's transport then
/// answers, its SSE streams kept alive by comments; a client that goes away cancels its request.
struct MCPEndpoint: Sendable {
    let mcp: MCPServer
    let sessions: MCPSessionTable
    let authenticator: ClientAuthenticator
    /// The SDK's Origin and Host check, for loopback plus the configured origins.
    let origins: OriginValidator
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
        if let refused = origins.validate(bare, context: .init(httpMethod: method, sessionID: nil, isInitializationRequest: false,
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
            for session in await sessions.removeAll(of: name) { await Self.close(session) }
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
        let sdkRequest = MCP.HTTPRequest(method: method, headers: headers, body: body, path: request.uri.path)
        guard let sessionID = headers[HTTPHeaderName.sessionID.lowercased()] else {
            guard method == "POST", let body, JSONRequestID.isInitialize(body) else {
                return Self.plain(400, "no MCP-Session-Id: open a session with initialize first\n")
            }
            return try await open(sdkRequest, client: client)
        }
        guard let session = await sessions.begin(sessionID, client: client) else {
            return Self.plain(404, "no such session for this token (it expired, was closed, or belongs to another token): initialize again\n")
        }
        let answer = await session.transport.http.handleRequest(sdkRequest)
        if method == "DELETE", answer.statusCode == 200, let removed = await sessions.remove(sessionID) {
            await Self.close(removed)
        }
        return response(answer, session: sessionID, transport: session.transport, requestID: body.flatMap(JSONRequestID.of))
    }

    /// Opens a session for `client` with its initialize request.
    func open(_ request: MCP.HTTPRequest, client: String) async throws -> Response {
        guard await sessions.reserve() else {
            return Self.plain(503, "too many MCP sessions open (LINUX_MCP_HTTP_MAX_SESSIONS); close one or retry later\n", retryAfter: true)
        }
        // The SDK logs session ids at info: they stay out of the log (an id is half of what reaches a session).
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let transport = SessionTransport(ids: RandomSessionID(), logger: quiet)
        let server: Server
        do {
            server = try await mcp.startSession(for: client, on: transport, version: version)
        } catch {
            await sessions.release()
            throw error
        }
        let answer = await transport.http.handleRequest(request)
        guard answer.statusCode == 200, let id = answer.headers[HTTPHeaderName.sessionID] else {
            await sessions.release()
            await Self.close(.init(transport: transport, server: server, client: client, lastUsed: .now))
            return response(answer, session: nil, transport: transport, requestID: nil)
        }
        let session = MCPSessionTable.Session(transport: transport, server: server, client: client, lastUsed: .now, inFlight: 1)
        guard await sessions.add(id: id, session) else {
            await Self.close(session)
            return Self.plain(503, "the server is stopping\n", retryAfter: true)
        }
        logger.info("MCP session opened", metadata: ["client": "\(client)"])
        return response(answer, session: id, transport: transport, requestID: request.body.flatMap(JSONRequestID.of))
    }

    /// The SDK's answer as a Hummingbird response; the session is marked idle again once it is sent.
    func response(_ answer: MCP.HTTPResponse, session: String?, transport: SessionTransport, requestID: JSONRequestID?) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers { if let name = HTTPField.Name(name) { fields[name] = value } }
        fields[.cacheControl] = "no-store"
        let sessions = self.sessions
        guard case .stream(let stream, _) = answer else {
            if let session { Task { await sessions.done(session) } }
            let data = answer.bodyData ?? Data()
            return Response(status: .init(code: answer.statusCode), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let heartbeat = self.heartbeat, logger = self.logger
        let body = ResponseBody { writer in
            let relay = SSERelay(stream: stream, heartbeat: heartbeat)
            var delivered = false
            do {
                for try await chunk in relay.chunks() { try await writer.write(ByteBuffer(bytes: chunk)) }
                delivered = relay.sourceEnded
                try await writer.finish(nil)
            } catch {
                delivered = false
            }
            if !delivered, let requestID {
                logger.notice("request cancelled: the HTTP client went away before its answer", metadata: ["request": "\(requestID)"])
                await transport.requestAbandoned(requestID)
            }
            if let session { await sessions.done(session) }
        }
        return Response(status: .init(code: answer.statusCode), headers: fields, body: body)
    }

    /// Stops a session's server and closes its transport (its streams end).
    static func close(_ session: MCPSessionTable.Session) async {
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

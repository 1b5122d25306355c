import Foundation
import Logging
import MCP

/// One MCP session's transport: the swift-sdk's stateful Streamable HTTP transport (it keeps the session id,
/// routes each answer to the SSE stream of the request it answers, validates Accept, Content-Type, protocol
/// version and session), plus ``requestAbandoned(_:)``: when the HTTP client of a request goes away, the
/// session's server gets a `notifications/cancelled` for it, as if the client had sent one.
actor SessionTransport: Transport {
    nonisolated let logger: Logger
    /// The SDK transport.
    let http: StatefulHTTPServerTransport
    private let injected: AsyncStream<Data>
    private let injector: AsyncStream<Data>.Continuation
    /// The calls whose progress goes to their own response stream, by progress token.
    private var related: [String: SSERelay] = [:]

    /// A transport whose session id comes from `ids`. The Origin and Host checks are the endpoint's, run before
    /// authentication; the SDK's other validators run here.
    init(ids: any SessionIDGenerator, logger: Logger) {
        self.logger = logger
        self.http = StatefulHTTPServerTransport(
            sessionIDGenerator: ids,
            validationPipeline: StandardValidationPipeline(validators: [
                AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(), ProtocolVersionValidator(), SessionValidator(),
            ]),
            logger: logger)
        (injected, injector) = AsyncStream<Data>.makeStream()
    }

    func connect() async throws { try await http.connect() }

    func disconnect() async {
        injector.finish()
        related.removeAll()
        await http.disconnect()
    }

    /// A message from the server: a progress notification goes to the stream of the call it belongs to (the SDK's
    /// transport would send it on the session's GET stream, which a client may not open, and keep it); the rest
    /// goes through the SDK's transport.
    func send(_ data: Data) async throws {
        if let token = JSONRequestID.progressToken(ofNotification: data), let relay = related[token] {
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            relay.inject(Data(("event: message\n" + lines.map { "data: " + $0 + "\n" }.joined() + "\n").utf8))
            return
        }
        try await http.send(data)
    }

    /// Sends the progress notifications of the call that carries progress token `token` to `relay` (its response),
    /// until ``unrelate(_:)``; false when a call in progress holds that token already (tokens must be unique).
    func relate(_ token: String, to relay: SSERelay) -> Bool {
        guard related[token] == nil else { return false }
        related[token] = relay
        return true
    }

    /// Stops routing the progress of `token` (its call's response ended).
    func unrelate(_ token: String) {
        related.removeValue(forKey: token)
    }

    /// The client's messages, then any cancellation this side adds; it ends when the SDK transport's stream ends.
    func receive() -> AsyncThrowingStream<Data, Swift.Error> {
        let http = self.http
        let injected = self.injected
        return AsyncThrowingStream { continuation in
            let added = Task {
                for await message in injected { continuation.yield(message) }
            }
            let relayed = Task {
                do {
                    for try await message in await http.receive() { continuation.yield(message) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
                added.cancel()
            }
            continuation.onTermination = { _ in
                relayed.cancel()
                added.cancel()
            }
        }
    }

    /// Tells the session's server that the client of request `id` (the JSON-RPC id as the client sent it) went
    /// away: its handler task is cancelled. A diagnostic fan-out asks no further host; an execution already
    /// claimed runs to its end (the MCP adapter runs it in a task of its own).
    func requestAbandoned(_ id: JSONRequestID) {
        let notification: [String: Any] = [
            "jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": ["requestId": id.json, "reason": "the HTTP client disconnected"],
        ]
        if let data = try? JSONSerialization.data(withJSONObject: notification) { injector.yield(data) }
    }
}

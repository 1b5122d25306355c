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
        await http.disconnect()
    }

    func send(_ data: Data) async throws { try await http.send(data) }

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

/// A JSON-RPC request id as the client sent it: a string or an integer.
enum JSONRequestID: Sendable, Equatable {
    case string(String)
    case number(Int)

    /// The id of `body` when it is one JSON-RPC request with an id, else nil.
    static func of(_ body: Data) -> JSONRequestID? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], object["method"] is String else { return nil }
        if let text = object["id"] as? String { return .string(text) }
        if let number = object["id"] as? Int { return .number(number) }
        return nil
    }

    /// Whether `body` is an initialize request (it opens a session).
    static func isInitialize(_ body: Data) -> Bool {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["method"] as? String == "initialize"
    }

    var json: Any {
        switch self {
        case .string(let text): text
        case .number(let number): number
        }
    }
}

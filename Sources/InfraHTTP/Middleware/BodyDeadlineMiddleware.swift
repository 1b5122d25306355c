import Foundation
import Hummingbird

/// Every request's body is read whole before any handler runs: within ``deadline`` (a client that trickles
/// its body, a byte now and then, cannot hold a connection: 408) and up to ``limit`` bytes (413). Handlers
/// then read it from memory.
struct BodyDeadlineMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int
    let deadline: Duration

    /// What the deadline ended.
    struct Late: Error {}

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let source = request
        let limit = self.limit, deadline = self.deadline
        let buffer: ByteBuffer
        do {
            buffer = try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                group.addTask { try await source.body.collect(upTo: limit) }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    throw Late()
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch is Late {
            return Self.plain(408, "the request was not received within \(deadline.components.seconds) s\n")
        } catch {
            return Self.plain(413, "the request body is larger than \(limit) bytes (LINUX_MCP_MAX_MESSAGE_BYTES)\n")
        }
        request.body = .init(buffer: buffer)
        return try await next(request, context)
    }

    static func plain(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store", .connection: "close"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

import Foundation
@testable import InfraHTTP
import InfraTestSupport
import Logging
import MCP
import Testing

/// The session table's rules, with an injected clock: a session answers only the token that opened it; an idle
/// one is closed after the limit but never while a request runs; the table is bounded; a stop closes all.
@Suite("MCP session table: bound to the token, idle expiry, capacity")
struct MCPSessionTableTests {
    static func session(_ client: String, at instant: ContinuousClock.Instant) async throws -> MCPSessionTable.Session {
        let transport = SessionTransport(ids: RandomSessionID(), logger: Logger(label: "test"))
        return .init(transport: transport, server: Server(name: "t", version: "1"), client: client, lastUsed: instant)
    }

    @Test("Another token never reaches a session; idle expiry spares busy sessions; capacity and stop")
    func rules() async throws {
        let start = ContinuousClock.now
        let table = MCPSessionTable(maxSessions: 2, idleLimit: .seconds(1800))
        #expect(await table.reserve())
        #expect(await table.add(id: "s1", try await Self.session("claude-ops", at: start)))
        #expect(await table.begin("s1", client: "other-client", now: start) == nil, "another token's name")
        #expect(await table.begin("nope", client: "claude-ops", now: start) == nil, "an unknown id")
        #expect(await table.begin("s1", client: "claude-ops", now: start) != nil)
        // Busy (one request in flight) past the idle limit: kept.
        #expect(await table.expired(now: start + .seconds(4000)).isEmpty)
        await table.done("s1", now: start + .seconds(10))
        #expect(await table.expired(now: start + .seconds(1000)).isEmpty, "idle 990 s of 1800")
        #expect(await table.expired(now: start + .seconds(1810)).map(\.client) == ["claude-ops"])
        #expect(await table.count == 0)

        // Capacity counts sessions being opened.
        let first = await table.reserve(), second = await table.reserve()
        #expect(first && second)
        #expect(await !table.reserve(), "full: 2 being opened")
        #expect(await table.add(id: "s2", try await Self.session("claude-ops", at: start)))
        #expect(await !table.reserve(), "full: 1 open + 1 being opened")
        await table.release()
        #expect(await table.reserve())
        #expect(await table.add(id: "s3", try await Self.session("other-client", at: start)))
        #expect(await !table.reserve(), "full: 2 open")
        #expect(await table.removeAll(of: "other-client").count == 1)
        // A stop closes every session and takes no new one.
        #expect(await table.closeAll().count == 1)
        #expect(await table.count == 0)
        #expect(await !table.reserve())
    }
}

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
        let table = MCPSessionTable(maxSessions: 2, maxPerToken: 2, idleLimit: .seconds(1800))
        try await table.reserve(for: "claude-ops")
        #expect(await table.add(id: "s1", try await Self.session("claude-ops", at: start)))
        await #expect(throws: MCPSessionTable.Refused.unknown, "another token's name") { try await table.begin("s1", client: "other-client", now: start) }
        await #expect(throws: MCPSessionTable.Refused.unknown, "an unknown id") { try await table.begin("nope", client: "claude-ops", now: start) }
        _ = try await table.begin("s1", client: "claude-ops", request: "n:7", now: start)
        await #expect(throws: MCPSessionTable.Refused.duplicate, "the same JSON-RPC id twice at once") {
            try await table.begin("s1", client: "claude-ops", request: "n:7", now: start)
        }
        // Busy (one request in flight) past the idle limit: kept.
        #expect(await table.expired(now: start + .seconds(4000)).isEmpty)
        #expect(await table.done("s1", request: "n:7", now: start + .seconds(10)) == nil)
        #expect(await table.expired(now: start + .seconds(1000)).isEmpty, "idle 990 s of 1800")
        #expect(await table.expired(now: start + .seconds(1810)).map(\.client) == ["claude-ops"])
        #expect(await table.count == 0)

        // Capacity counts sessions being opened.
        try await table.reserve(for: "claude-ops")
        try await table.reserve(for: "other-client")
        await #expect(throws: MCPSessionTable.Full.table, "full: 2 being opened") { try await table.reserve(for: "third") }
        #expect(await table.add(id: "s2", try await Self.session("claude-ops", at: start)))
        await #expect(throws: MCPSessionTable.Full.table, "full: 1 open + 1 being opened") { try await table.reserve(for: "third") }
        await table.release("other-client")
        try await table.reserve(for: "other-client")
        #expect(await table.add(id: "s3", try await Self.session("other-client", at: start)))
        await #expect(throws: MCPSessionTable.Full.table, "full: 2 open") { try await table.reserve(for: "other-client") }
        // A revoked token's sessions go; the others stay.
        #expect(await table.removeAll(except: ["claude-ops"]).map(\.client) == ["other-client"])
        #expect(await table.count == 1)

        // One token's share: with 3 places of 5 for each token, the fourth of one token is refused while another gets in.
        let shared = MCPSessionTable(maxSessions: 5, maxPerToken: 3, idleLimit: .seconds(1800))
        for index in 0..<3 {
            try await shared.reserve(for: "greedy")
            #expect(await shared.add(id: "g\(index)", try await Self.session("greedy", at: start)))
        }
        await #expect(throws: MCPSessionTable.Full.token) { try await shared.reserve(for: "greedy") }
        try await shared.reserve(for: "modest")

        // A session that carried its budget is closed once its last request is answered.
        let spent = MCPSessionTable(maxSessions: 2, maxPerToken: 2, idleLimit: .seconds(1800), answerBudget: 1000)
        try await spent.reserve(for: "claude-ops")
        #expect(await spent.add(id: "b1", try await Self.session("claude-ops", at: start)))
        _ = try await spent.begin("b1", client: "claude-ops", request: "n:1")
        _ = try await spent.begin("b1", client: "claude-ops", request: "n:2")
        #expect(await spent.done("b1", request: "n:1", answered: 1000) == nil, "one request still running")
        await #expect(throws: MCPSessionTable.Refused.spent, "no new request once spent") { try await spent.begin("b1", client: "claude-ops") }
        #expect(await spent.done("b1", request: "n:2", answered: 10)?.client == "claude-ops")
        #expect(await spent.count == 0)
        // A spent session whose request never ends (a stream held open) is closed by the sweep all the same.
        try await spent.reserve(for: "claude-ops")
        #expect(await spent.add(id: "b2", try await Self.session("claude-ops", at: start)))
        _ = try await spent.begin("b2", client: "claude-ops", request: "n:1")
        _ = try await spent.begin("b2", client: "claude-ops", request: "n:2")
        #expect(await spent.done("b2", request: "n:1", answered: 5000) == nil)
        #expect(await spent.expired(now: start).map(\.client) == ["claude-ops"])
        // A GET stream that only waits does not keep a session busy: it expires when idle.
        try await spent.reserve(for: "claude-ops")
        #expect(await spent.add(id: "w1", try await Self.session("claude-ops", at: start)))
        _ = try await spent.begin("w1", client: "claude-ops", busy: false, now: start)
        #expect(await spent.expired(now: start + .seconds(1800)).count == 1)

        // A stop closes every session and takes no new one.
        #expect(await table.closeAll().count == 1)
        #expect(await table.count == 0)
        await #expect(throws: MCPSessionTable.Full.stopping) { try await table.reserve(for: "claude-ops") }
    }
}

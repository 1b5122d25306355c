import Foundation
import InfraApp
import InfraDomain
@testable import InfraHTTP
import InfraMCP
import InfraTestSupport
import Logging
import MCP
import Testing

/// What a client that goes away stops, on one HTTP session's transport (the SDK's stateful transport and the
/// MCP server over in-memory ports): a fan-out asks no host after the cancel, and the hosts it did not ask say
/// so; a call of the same session made afterwards is answered normally.
@Suite("HTTP session: a request whose client went away is cancelled (in-memory ports)")
struct SessionCancelTests {
    static let accept = ["Accept": "application/json, text/event-stream", "Content-Type": "application/json"]

    static func post(_ transport: SessionTransport, session: String?, _ body: String) async -> MCP.HTTPResponse {
        var headers = accept
        if let session {
            headers["MCP-Session-Id"] = session
            headers["MCP-Protocol-Version"] = "2025-06-18"
        }
        return await transport.http.handleRequest(.init(method: "POST", headers: headers, body: Data(body.utf8), path: "/mcp"))
    }

    /// Opens a session of `server` for `caller` on a new transport (initialize, then initialized); returns the
    /// transport, the SDK server and the session id.
    static func open(_ server: MCPServer, for caller: String) async throws -> (SessionTransport, Server, String) {
        let transport = SessionTransport(ids: RandomSessionID(), logger: Logger(label: "test"))
        let sdk = try await server.startSession(for: caller, on: transport, version: "test")
        let opened = await post(transport, session: nil, """
            {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}
            """)
        let session = try #require(opened.headers[HTTPHeaderName.sessionID])
        #expect(try await text(opened)?.contains("\"protocolVersion\"") == true)
        _ = await post(transport, session: session, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        return (transport, sdk, session)
    }

    /// Reads an SSE response to its end (the answer closes it); nil when it is not a stream.
    static func text(_ response: MCP.HTTPResponse) async throws -> String? {
        guard case .stream(let stream, _) = response else { return nil }
        var text = ""
        for try await chunk in stream { text += String(decoding: chunk, as: UTF8.self) }
        return text
    }

    @Test("A cancelled fan-out asks no further host; the session goes on answering", .timeLimit(.minutes(2)))
    func cancelStopsFanOut() async throws {
        let store = InMemoryStore(), remote = FakeRemoteExec()
        // 24 hosts, 16 asked at a time, each answering only after a long delay: the cancel comes while the first 16 wait.
        remote.on(account: .reader, request: "disks", delay: .seconds(600), .ok(""))
        let server = MCPServer(services: try InMemoryServerServices.make(store: store, remote: remote, hosts: 24), logger: Logger(label: "test"))
        let (transport, sdk, session) = try await Self.open(server, for: Caller.name(ofToken: "claude-ops"))
        #expect(session.count == 43, "32 random bytes, base64url: \(session)")

        let slow = await Self.post(transport, session: session,
                                   #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_disk_usage","arguments":{"host":"all"}}}"#)
        let memory = FakeRemoteExec.Match(account: .reader, request: "disks")
        let deadline = ContinuousClock.now + .seconds(60)
        while remote.requests(memory).count < 16 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(remote.requests(memory).count == 16)
        await transport.requestAbandoned(.number(7))
        // The call ends (its audit row is written) without asking the 8 hosts left.
        while try store.records(AuditFilter()).filter({ $0.kind == "tool" }).isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let row = try #require(try store.records(AuditFilter()).first { $0.kind == "tool" })
        #expect(row.detail.contains("get_disk_usage"), "\(row)")
        #expect(remote.requests(memory).count == 16, "no host asked after the cancel: \(remote.requests(memory).count)")
        _ = slow

        // The session still works: a new call is answered.
        let hosts = await Self.post(transport, session: session, #"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"list_hosts","arguments":{}}}"#)
        #expect(try await Self.text(hosts)?.contains("web24") == true)
        await transport.disconnect()
        await sdk.stop()
    }

    @Test("A client gone during execute_pra_action cancels nothing: the claimed action runs, is verified and recorded", .timeLimit(.minutes(2)))
    func executionOutlivesItsClient() async throws {
        let store = InMemoryStore(), remote = FakeRemoteExec()
        let (services, review) = try InMemoryServerServices.makeWithReview(store: store, remote: remote)
        // The run takes a while (a cancelled task would end this sleep at once, and the run would fail).
        remote.on(account: .runner, delay: .seconds(2), .ok("restarted\n"))
        remote.on(account: .reader, request: "unit-active", .ok("active\n"))
        let server = MCPServer(services: services, logger: Logger(label: "test"))
        let (transport, sdk, session) = try await Self.open(server, for: Caller.name(ofToken: "claude-ops"))
        let proposed = await Self.post(transport, session: session, """
            {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"propose_pra_action","arguments":{"host":"web1","action":"restart_unbound","rationale":"unbound stopped answering at 10:02"}}}
            """)
        #expect(try await Self.text(proposed)?.contains("PROPOSED") == true)
        let record = try #require(try store.list(states: [.proposed]).first)
        #expect(record.proposer == "token:claude-ops" && record.client == "t", "the token's name proposes: \(record.proposer)")
        let alice = TestApproverKey("alice")
        _ = try review.approve(record.id, source: .signed(alice.sign(try review.statement(record.id, principal: alice.principal))),
                               digest: record.digest, principal: alice.principal, reason: "checked", osAccount: "alice")

        _ = await Self.post(transport, session: session, """
            {"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"execute_pra_action","arguments":{"id":"\(record.id)"}}}
            """)
        let deadline = ContinuousClock.now + .seconds(60)
        while remote.requests(.init(account: .runner)).isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await transport.requestAbandoned(.number(9))
        while try store.load(record.id)?.state == .executing && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let finished = try #require(try store.load(record.id))
        #expect(finished.state == .completed && finished.execution?.verified != nil, "\(finished.state) \(String(describing: finished.execution))")
        await transport.disconnect()
        await sdk.stop()
    }

    @Test("A call's progress goes on its own stream (no GET stream open), and only there", .timeLimit(.minutes(1)))
    func progressOnTheCallsStream() async throws {
        let store = InMemoryStore(), remote = FakeRemoteExec()
        remote.on(account: .reader, request: "disks", .ok(""))
        let server = MCPServer(services: try InMemoryServerServices.make(store: store, remote: remote, hosts: 3), logger: Logger(label: "test"))
        let (transport, sdk, session) = try await Self.open(server, for: Caller.name(ofToken: "claude-ops"))
        let body = #"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get_disk_usage","arguments":{"host":"all"},"_meta":{"progressToken":"p-5"}}}"#
        let token = try #require(JSONRequestID.progressToken(ofRequest: Data(body.utf8)))
        #expect(token == "s:p-5")
        // The relay exists before the call reaches the server, and weaves the call's progress into its stream, as
        // MCPEndpoint sends it.
        let relay = SSERelay(heartbeat: .seconds(3600))
        await transport.relate(token, to: relay)
        let answer = await Self.post(transport, session: session, body)
        guard case .stream(let stream, _) = answer else { Issue.record("not a stream"); return }
        var text = ""
        for try await chunk in relay.chunks(of: stream) {
            text += String(decoding: chunk, as: UTF8.self)
        }
        await transport.unrelate(token)
        #expect(text.components(separatedBy: "notifications/progress").count - 1 == 3, "\(text)")
        #expect(text.contains("\"progressToken\":\"p-5\"") && text.contains("\"id\":5"), "\(text)")
        // All three came before the answer, which closed the stream.
        #expect(text.range(of: "\"id\":5")!.lowerBound > text.range(of: "notifications/progress", options: .backwards)!.lowerBound, "\(text)")
        await transport.disconnect()
        await sdk.stop()
    }

    @Test("Request ids: string and integer ids are read back as sent; notifications and batches have none")
    func requestIDs() {
        #expect(JSONRequestID.of(Data(#"{"jsonrpc":"2.0","id":"a-1","method":"tools/call"}"#.utf8)) == .string("a-1"))
        #expect(JSONRequestID.of(Data(#"{"jsonrpc":"2.0","id":42,"method":"tools/call"}"#.utf8)) == .number(42))
        #expect(JSONRequestID.of(Data(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8)) == nil)
        #expect(JSONRequestID.of(Data(#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#.utf8)) == nil)
        #expect(JSONRequestID.isInitialize(Data(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#.utf8)))
        #expect(!JSONRequestID.isInitialize(Data(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.utf8)))
    }
}

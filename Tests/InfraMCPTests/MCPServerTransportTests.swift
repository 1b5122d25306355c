import Foundation
import InfraApp
import InfraDomain
import InfraMCP
import InfraTestSupport
import MCP
import Testing

/// The MCP adapter on a transport other than stdio (the SDK's in-memory pair), over in-memory ports: it only
/// adapts. Tools are listed, a diagnostic answers from the remote port, a proposal goes through the workflow
/// into the store, a refusal comes back as the use case's message, and every call is one audit row.
/// No root, no sshd, no SQLite.
@Suite("MCPServer serves any transport over the use cases (in-memory transport and ports)")
struct MCPServerTransportTests {
    /// The services over the fakes, one host `web1` with one approver.
    static func services(store: InMemoryStore, remote: FakeRemoteExec) throws -> ServerServices {
        try InMemoryServerServices.make(store: store, remote: remote)
    }

    static func text(_ result: (content: [Tool.Content], isError: Bool?)) -> String {
        result.content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined()
    }

    @Test("tools/list, a diagnostic, a proposal and a refusal over the in-memory transport; one audit row per call; the stop is audited",
          .timeLimit(.minutes(1)))
    func servesInMemoryTransport() async throws {
        let store = InMemoryStore(), remote = FakeRemoteExec()
        let server = MCPServer(services: try Self.services(store: store, remote: remote), logger: .init(label: "test"))
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        // Connected before the client speaks: the in-memory pair drops what arrives at an unconnected side.
        try await serverSide.connect()
        let serving = Task { try await server.serve(transport: serverSide, version: "test", handlingSignals: false) }
        let client = Client(name: "transport-test", version: "1")
        _ = try await client.connect(transport: clientSide)

        let tools = try await client.listTools().tools.map(\.name)
        #expect(tools.contains("get_memory_info") && tools.contains("propose_pra_action") && !tools.contains { $0.contains("approve") }, "\(tools)")

        let memory = try await client.callTool(name: "get_memory_info", arguments: ["host": "web1"])
        #expect(memory.isError != true && Self.text(memory).contains("\"totalBytes\":1024000"), "\(Self.text(memory))")

        let proposed = try await client.callTool(name: "propose_pra_action", arguments: [
            "host": "web1", "action": "restart_unbound", "rationale": "unbound stopped answering at 10:02",
        ])
        #expect(proposed.isError != true && !Self.text(proposed).contains("warning"), "\(Self.text(proposed))")
        let stored = try store.list(states: [.proposed])
        #expect(stored.count == 1 && stored.first?.proposer == "svc" && stored.first?.client == "transport-test", "\(stored)")

        let unknown = try await client.callTool(name: "propose_pra_action", arguments: [
            "host": "db9", "action": "restart_unbound", "rationale": "unbound stopped answering at 10:02",
        ])
        #expect(unknown.isError == true && Self.text(unknown).contains("'db9' is not an inventory host"), "\(Self.text(unknown))")

        await client.disconnect()
        try await serving.value
        let tool = try store.records(AuditFilter()).filter { $0.kind == "tool" }
        #expect(tool.map(\.outcome) == ["ok", "ok", "error"], "\(tool)")
        #expect(tool.map(\.host) == ["web1", "web1", ""] && tool[1].proposalID == stored.first?.id, "\(tool)")
        let lifecycle = try store.records(AuditFilter()).filter { $0.kind == "server" }.map(\.outcome)
        #expect(lifecycle == ["started", "stopped"], "\(lifecycle)")
        #expect(remote.requests(.init(account: .runner)).isEmpty, "nothing ran as the runner")
    }

    @Test("propose_pra_action on a host that lists no approvers: recorded, and the result carries the WARNING line",
          .timeLimit(.minutes(1)))
    func proposalWarnsWithoutApprovers() async throws {
        let store = InMemoryStore()
        let server = MCPServer(services: try InMemoryServerServices.make(store: store, remote: FakeRemoteExec(), approvers: false), logger: .init(label: "test"))
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        try await serverSide.connect()
        let serving = Task { try await server.serve(transport: serverSide, version: "test", handlingSignals: false) }
        let client = Client(name: "no-approvers", version: "1")
        _ = try await client.connect(transport: clientSide)
        let proposed = try await client.callTool(name: "propose_pra_action", arguments: [
            "host": "web1", "action": "restart_unbound", "rationale": "unbound stopped answering at 10:02",
        ])
        let text = Self.text(proposed)
        #expect(proposed.isError != true, "\(text)")
        #expect(text.contains("\"warning\":\"WARNING: host web1 lists no approvers: nobody can approve an action on it; "
                              + "add mcp_approvers for it in the inventory and redeploy the role\""), "\(text)")
        #expect(try store.list(states: [.proposed]).map(\.host) == ["web1"])
        await client.disconnect()
        try await serving.value
    }

    @Test("The start starts the periodic store sweep (lease recovery, expiry) and the drain stops it, whatever the transport")
    func sweepFollowsTheServer() async throws {
        let server = MCPServer(services: try Self.services(store: InMemoryStore(), remote: FakeRemoteExec()), logger: .init(label: "test"))
        #expect(!server.isSweeping)
        try await server.started(version: "test")
        #expect(server.isSweeping)
        _ = await server.drain(reason: "test")
        #expect(!server.isSweeping)
    }
}

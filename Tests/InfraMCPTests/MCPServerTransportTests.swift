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
    static let catalogueText = "restart_unbound\tLOW\t-\tsystemctl restart unbound.service\tsystemctl is-active --quiet unbound.service\tyes\tRestart unbound.\n"

    /// The services over the fakes, one host `web1` with one approver.
    static func services(store: InMemoryStore, remote: FakeRemoteExec) throws -> ServerServices {
        let catalogue = try ActionCatalogue.parse(catalogueText, source: "pra-catalogue.tsv")
        var host = InventoryHost(name: "web1", address: "192.0.2.11", groups: ["all"])
        host.approvers = [TestApproverKey("alice").approver()]
        let inventory = Inventory(hosts: [host], groups: ["all": ["web1"], "ungrouped": []])
        let release = ["pra-catalogue.tsv": ComponentDrift.sha256Hex(Array(catalogueText.utf8))]
        remote.on(account: .reader, request: "version",
                  .ok("mcp-wrapper 1.0.0\nsha256 \(release["pra-catalogue.tsv"]!) /usr/local/lib/mcp-linux-infra/pra-catalogue.tsv\n"))
        remote.on(host: "web1", account: .reader, request: "memory", .ok("MemTotal: 1000 kB\nMemFree: 200 kB\nMemAvailable: 400 kB\n"))
        let recorder = AuditRecorder(sink: store)
        let exec = AuditedExec(remote: remote, recorder: recorder, actor: AuditActor.server("svc"), users: { _ in "u" },
                               defaultTimeout: .seconds(5))
        let context = ApprovalContext(hosts: [host], pinnedHostKeys: ["web1": ["SHA256:pinned"]], preferredWindow: 900)
        let policy = ApprovalPolicy(requiredApprovals: [.low: 1], proposalLifetime: .seconds(3600), approvalLifetime: .seconds(900))
        let workflow = ActionWorkflow(store: store, exec: exec, catalogue: catalogue, inventory: inventory, releaseComponents: release,
                                      approvalContext: context, policy: policy, user: "svc", runner: "pra-runner")
        return ServerServices(workflow: workflow, diagnostics: Diagnostics(exec: exec, inventory: inventory, releaseComponents: release),
                              doctor: Doctor(hosts: inventory.hosts, remote: remote, users: { _ in "u" }, timeout: .seconds(1), release: release),
                              verification: AuditVerification(store: store, audit: store, inventory: inventory),
                              ledgers: HostLedgerReader(remote: remote), recorder: recorder, remote: remote,
                              limits: .init(maxMessageBytes: 1 << 20, shutdownGrace: .seconds(1)), databasePath: "in-memory")
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
        #expect(proposed.isError != true, "\(Self.text(proposed))")
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
}

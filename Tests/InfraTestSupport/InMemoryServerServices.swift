import Foundation
import InfraApp
import InfraDomain

/// The server's services over the in-memory ports, for adapter tests (MCP on the SDK's transports, HTTP):
/// hosts `web1`…`webN` in group `all`, each with the approver alice, a catalogue of one LOW action, and the
/// answers a version probe and `memory` need. No root, no sshd, no SQLite.
public enum InMemoryServerServices {
    /// The one action of the catalogue.
    public static let catalogueText = "restart_unbound\tLOW\t-\tsystemctl restart unbound.service\tsystemctl is-active --quiet unbound.service\tyes\tRestart unbound.\n"

    /// The services over `store` and `remote`, with `hosts` hosts (approved by alice unless `approvers` is false).
    public static func make(store: InMemoryStore, remote: FakeRemoteExec, hosts count: Int = 1, approvers: Bool = true) throws -> ServerServices {
        try makeWithReview(store: store, remote: remote, hosts: count, approvers: approvers).server
    }

    /// The services, and the reviewer's side over the same store (to approve what the server's client proposed).
    public static func makeWithReview(store: InMemoryStore, remote: FakeRemoteExec, hosts count: Int = 1, approvers: Bool = true) throws
        -> (server: ServerServices, review: ActionReview) {
        let catalogue = try ActionCatalogue.parse(catalogueText, source: "pra-catalogue.tsv")
        let hosts = (1...count).map { index in
            var host = InventoryHost(name: "web\(index)", address: "192.0.2.\(10 + index)", groups: ["all"])
            host.approvers = approvers ? [TestApproverKey("alice").approver()] : []
            return host
        }
        let inventory = Inventory(hosts: hosts, groups: ["all": hosts.map(\.name), "ungrouped": []])
        let release = ["pra-catalogue.tsv": ComponentDrift.sha256Hex(Array(catalogueText.utf8))]
        remote.on(account: .reader, request: "version",
                  .ok("mcp-wrapper 1.0.0\nsha256 \(release["pra-catalogue.tsv"]!) /usr/local/lib/mcp-linux-infra/pra-catalogue.tsv\n"))
        remote.on(account: .reader, request: "memory", .ok("MemTotal: 1000 kB\nMemFree: 200 kB\nMemAvailable: 400 kB\n"))
        let recorder = AuditRecorder(sink: store)
        let exec = AuditedExec(remote: remote, recorder: recorder, actor: AuditActor.server("svc"), users: { _ in "u" },
                               defaultTimeout: .seconds(600))
        let context = ApprovalContext(hosts: hosts, pinnedHostKeys: Dictionary(uniqueKeysWithValues: hosts.map { ($0.name, ["SHA256:" + String(repeating: "p", count: 43)]) }),
                                      preferredWindow: 900)
        let policy = ApprovalPolicy(requiredApprovals: [.low: 1], proposalLifetime: .seconds(3600), approvalLifetime: .seconds(900))
        let workflow = ActionWorkflow(store: store, exec: exec, catalogue: catalogue, inventory: inventory, releaseComponents: release,
                                      approvalContext: context, policy: policy, user: "svc", runner: "pra-runner")
        let review = ActionReview(store: store, audit: store, catalogue: catalogue, cataloguePath: "pra-catalogue.tsv", inventory: inventory,
                                  approvalContext: context, policy: policy, knownHostsPath: "known_hosts")
        return (ServerServices(workflow: workflow, diagnostics: Diagnostics(exec: exec, inventory: inventory, releaseComponents: release),
                              doctor: Doctor(hosts: inventory.hosts, remote: remote, users: { _ in "u" }, timeout: .seconds(1), release: release),
                              verification: AuditVerification(store: store, audit: store, inventory: inventory),
                              ledgers: HostLedgerReader(remote: remote), recorder: recorder, remote: remote,
                              limits: .init(maxMessageBytes: 1 << 20, shutdownGrace: .seconds(1)), databasePath: "in-memory"), review)
    }
}

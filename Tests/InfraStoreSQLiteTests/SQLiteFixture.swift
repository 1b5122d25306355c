import Foundation
import InfraDomain
@testable import InfraStoreSQLite

/// A state database path in a fresh folder of its own.
struct SQLiteFixture {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
    var path: String { directory + "/state/state.sqlite3" }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A PROPOSED restart of nginx on t1, with its first audit row, as the use case inserts it.
    static func proposal(id: String = "3f2a9c1e-0000-4000-8000-000000000001", at date: Date = Date(timeIntervalSince1970: 1_800_000_000))
        throws -> (record: ProposalRecord, audit: AuditChain.Record) {
        let catalogue = try ActionCatalogue.parse("restart_unbound\tLOW\t-\tsystemctl restart unbound.service\t-\tyes\tRestart unbound.\n", source: "c")
        let request = try ActionRequest.make(actionName: "restart_unbound", host: InventoryHost(name: "t1", address: "127.0.0.1"), parameters: [:],
                                             catalogue: catalogue)
        let policy = ApprovalPolicy(requiredApprovals: [:], proposalLifetime: .seconds(3600), approvalLifetime: .seconds(900))
        return ProposalRules.proposal(request, id: id, rationale: "unbound is stopped on t1", proposer: "svc", client: "test",
                                      catalogueVersion: catalogue.version, policy: policy, now: date)
    }
}

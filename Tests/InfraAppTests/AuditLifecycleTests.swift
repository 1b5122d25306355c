@testable import InfraApp
import InfraDomain
import Testing

@Suite("audit verify: each proposal's states in the chain form a legal lifecycle ending in its stored state")
struct AuditLifecycleTests {
    @Test("Legal histories pass; a forged transition, a missing proposal row and a rewritten stored state are named")
    func lifecycles() {
        let ran: [ActionLifecycle.State] = [.proposed, .approved, .executing, .completed]
        #expect(AuditVerification.lifecycleProblem(ran, stored: .completed) == nil)
        #expect(AuditVerification.lifecycleProblem([.proposed, .expired], stored: .expired) == nil)
        // Cancelled, then an EXECUTING row appended (and sealed) by whoever holds the database.
        #expect(AuditVerification.lifecycleProblem([.proposed, .approved, .cancelled, .executing], stored: .executing)?
            .contains("CANCELLED -> EXECUTING, which no action can do") == true)
        #expect(AuditVerification.lifecycleProblem([.approved, .executing], stored: .executing)?.contains("does not record its proposal") == true)
        #expect(AuditVerification.lifecycleProblem([.proposed, .approved, .cancelled], stored: .completed)?
            .contains("the store says COMPLETED, but the audit log's last state for it is CANCELLED") == true)
    }

    @Test("Runs are read from the chain's COMPLETED and FAILED rows with an exit after the ledger entry; refusals are not runs")
    func runs() {
        func row(_ seq: Int64, _ id: String, _ outcome: String, _ exit: String) -> AuditChain.Record {
            AuditChain.Record(seq: seq, at: "2026-11-30T10:00:00.000Z", actor: "mcp:svc", kind: "state", host: "web1", action: "a", proposalID: id,
                              outcome: outcome, detail: "{\"exit\":\"\(exit)\",\"from\":\"EXECUTING\"}")
        }
        let runs = AuditVerification.runsInChain([row(1, "a", "COMPLETED", "0"), row(2, "b", "FAILED", "68"), row(3, "c", "FAILED", "87"),
                                                  row(4, "d", "FAILED", "none")])
        #expect(runs.map(\.id) == ["a", "b"] && runs.map(\.exit) == [0, 68] && runs.allSatisfy { $0.host == "web1" })
    }
}

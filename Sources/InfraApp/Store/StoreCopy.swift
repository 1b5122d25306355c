import Foundation
import InfraDomain

/// `store copy`: moves a controller's whole store into an empty shared one, and proves on the way that nothing
/// was lost or altered.
///
/// 1. The source is verified as `audit verify` does (``AuditVerification/verifyLog(anchors:)``: the chain, every
///    digest, every signed approval against the inventory's approvers, every approval's anchor, every execution
///    against the result its chain sealed; the anchors given, and the heads its witness recorded): a source with any
///    problem is not copied, so a copy never launders a tampered store.
/// 2. The destination must be empty (a copy never merges two histories).
/// 3. Everything is written in one transaction, rows with their own sequence numbers and hashes.
/// 4. The destination is verified the same way, and must hold the same number of proposals and rows and the same
///    head as the source.
public struct StoreCopy: Sendable {
    /// The source store.
    public let source: (store: any ActionStore, audit: any AuditSink)
    /// The destination's two ports, to read back what was written.
    public let destination: (store: any ActionStore, audit: any AuditSink)
    /// The destination's import.
    public let importer: any StoreImport
    /// The approvers of each host, for the signatures.
    public let inventory: Inventory
    /// Heads of the source saved elsewhere (`--anchor SEQ:HASH`), which must still be in its chain.
    public var anchors: [AuditChain.Anchor] = []
    /// The heads the source's witness recorded (the journal, or a file), read before the source; nil: not checked.
    public var witness: AuditWitnessReader.Reading?

    /// A copy between two stores.
    public init(source: (store: any ActionStore, audit: any AuditSink), destination: (store: any ActionStore, audit: any AuditSink),
                importer: any StoreImport, inventory: Inventory) {
        self.source = source
        self.destination = destination
        self.importer = importer
        self.inventory = inventory
    }

    /// What a copy did.
    public struct Report: Sendable, Equatable {
        /// What the source's witness showed, one line (empty when not checked).
        public var witness = ""
        public var proposals: Int
        public var auditRows: Int
        public var head: AuditChain.Anchor?
        /// Signed approvals verified, in the source and again in the destination.
        public var statementsChecked: Int
    }

    /// Why nothing was copied, or why the copy does not match.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Verifies the source, copies it into the empty destination and verifies that.
    public func run() throws -> Report {
        let sourceVerification = AuditVerification(store: source.store, audit: source.audit, inventory: inventory)
        var before = try sourceVerification.verifyLog(anchors: anchors)
        if let witness { try sourceVerification.verifyWitness(witness, report: &before) }
        guard before.problems.isEmpty else {
            throw Failure(description: "the source does not verify, so nothing was copied (run `mcp-linux-infra audit verify` on it):\n  "
                                       + before.problems.joined(separator: "\n  "))
        }
        guard try importer.isEmpty() else {
            throw Failure(description: "the destination already holds proposals or audit rows; a copy never merges two histories. "
                                       + "Copy into a new, empty database (store init-postgres), or keep the one you have")
        }
        let proposals = try source.store.list(states: [])
        let rows = try source.audit.records(AuditFilter())
        guard rows.last.map({ AuditChain.Anchor(seq: $0.seq, hash: $0.hash) }) == before.head, proposals.count == (try source.store.list(states: []).count) else {
            throw Failure(description: "the source changed while it was read (is a server still running on it?); stop it and copy again")
        }
        try importer.importVerbatim(proposals: proposals, audit: rows)
        let after = try AuditVerification(store: destination.store, audit: destination.audit, inventory: inventory).verifyLog(anchors: [])
        let copied = try destination.store.list(states: [])
        var mismatches = after.problems
        if after.rows != rows.count { mismatches.append("the destination holds \(after.rows) audit rows, the source \(rows.count)") }
        if after.head != before.head { mismatches.append("the destination's head is \(after.head.map(String.init(describing:)) ?? "none"), the source's \(before.head.map(String.init(describing:)) ?? "none")") }
        if copied.count != proposals.count { mismatches.append("the destination holds \(copied.count) proposals, the source \(proposals.count)") }
        let written = Dictionary(uniqueKeysWithValues: copied.map { ($0.id, $0) })
        for proposal in proposals where written[proposal.id] != proposal {
            mismatches.append("proposal \(proposal.id) reads back different from the source")
        }
        if try destination.audit.records(AuditFilter()) != rows { mismatches.append("the destination's audit rows read back different from the source's") }
        guard mismatches.isEmpty else {
            throw Failure(description: "the copy was written but does not verify; do not use it (drop the destination and copy again):\n  "
                                       + mismatches.joined(separator: "\n  "))
        }
        return Report(witness: before.witness, proposals: proposals.count, auditRows: rows.count, head: before.head,
                      statementsChecked: before.statementsChecked + after.statementsChecked)
    }
}

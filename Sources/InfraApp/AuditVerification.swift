import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import InfraStore

/// `audit verify`: what anyone holding the approvers' public keys can prove about the log.
///
/// 1. The chain: every row is sealed to the one before it.
/// 2. Anchors an operator saved elsewhere (`--anchor SEQ:HASH`).
/// 3. Every stored signed approval: its signature is by a key the inventory lists for its principal on its
///    host, and the audit head it names is still in the chain with that hash. Cutting rows off the end, or
///    rewriting history from before the latest approval, breaks one of these.
/// 4. With `--hosts`: each host's ledger (the approvals its root side executed) names a stored proposal, its
///    statements verify, and their audit heads are in the chain: deleting an executed proposal's rows and
///    decisions is caught by the targets.
public struct AuditVerification: Sendable {
    public let configuration: ReviewConfiguration
    public let database: StateDatabase

    /// A verifier over a configuration's approvers and a state database.
    public init(configuration: ReviewConfiguration, database: StateDatabase) {
        self.configuration = configuration
        self.database = database
    }

    /// What a run found.
    public struct Report: Sendable {
        public var rows = 0
        public var head: AuditChain.Anchor?
        /// Problems, each naming the row, proposal or host; empty when everything holds.
        public var problems: [String] = []
        public var anchorsHeld = 0
        public var statementsChecked = 0
        public var ledgerEntriesChecked = 0
        /// What the witness of the head showed (``verifyWitness(_:report:)``), one line; empty when not checked.
        public var witness = ""
    }

    /// Checks the chain, the given anchors and every stored signed approval.
    public func verifyLog(anchors: [AuditChain.Anchor]) throws -> Report {
        var report = Report()
        let log = AuditLog(database: database)
        let records = try log.records()
        report.rows = records.count
        report.head = records.last.map { AuditChain.Anchor(seq: $0.seq, hash: $0.hash) }
        if let broken = AuditChain.verify(records) {
            report.problems.append("row \(broken.seq): \(broken.problem)")
        }
        for anchor in anchors {
            if let broken = AuditChain.check(anchor, in: records) { report.problems.append("--anchor \(anchor): \(broken.problem)") } else { report.anchorsHeld += 1 }
        }
        let store = ProposalStore(database: database, policy: configuration.settings.approvalPolicy)
        var missing: [(Int64, String)] = []
        for stored in try store.signedApprovals() {
            report.statementsChecked += 1
            let label = "approval by \(stored.principal) of proposal \(stored.proposalID)"
            switch check(stored.signed, host: stored.host, proposalID: stored.proposalID, records: records) {
            case .failure(let problem):
                if case .missingRow(let seq, let text) = problem { missing.append((seq, "\(label): \(text)")) } else { report.problems.append("\(label): \(problem)") }
            case .success: break
            }
        }
        for unsigned in try store.unsignedApprovals() {
            report.problems.append("approval by \(unsigned.principal) of proposal \(unsigned.proposalID): no signature (it never counted)")
        }
        // The newest anchored row that is gone names how far the log was cut.
        report.problems += missing.sorted { $0.0 > $1.0 }.map(\.1)
        return report
    }

    /// Reads every host's ledger through the reader account and checks each entry against the database.
    public func verifyHosts(pool: SSHPool, reader: AccountCredentials, report: inout Report) async throws {
        let store = ProposalStore(database: database, policy: configuration.settings.approvalPolicy)
        let records = try AuditLog(database: database).records()
        for host in configuration.inventory.hosts {
            let answer: ExecResult
            do {
                answer = try await pool.execute(host: host, credentials: reader, command: "ledger lines=500", timeout: .seconds(30))
            } catch {
                report.problems.append("host \(host.name): cannot read its ledger: \(error)")
                continue
            }
            guard answer.exitCode == 0 else {
                report.problems.append("host \(host.name): ledger exit \(answer.exitCode.map(String.init) ?? "?"): \(answer.stderrText.prefix(200))")
                continue
            }
            for entry in LedgerEntry.parse(answer.stdoutText) {
                report.ledgerEntriesChecked += 1
                let label = "host \(host.name), ledger entry \(entry.id)"
                guard try store.exists(entry.id) else {
                    report.problems.append("\(label): no such proposal in the database (its rows and decisions were deleted)")
                    continue
                }
                guard !entry.approvals.isEmpty else { report.problems.append("\(label): no statement in the entry"); continue }
                for signed in entry.approvals {
                    if case .failure(let problem) = check(signed, host: host.name, proposalID: entry.id, records: records) {
                        report.problems.append("\(label): \(problem)")
                    }
                }
            }
        }
    }

    /// Why a signed approval does not hold.
    enum Problem: Error, CustomStringConvertible {
        case invalid(String)
        case missingRow(Int64, String)

        var description: String {
            switch self {
            case .invalid(let text): text
            case .missingRow(_, let text): text
            }
        }
    }

    /// A signed approval holds when its statement is canonical and names `proposalID` and `host`, its
    /// signature is by a key the inventory lists for its principal there, and its audit head is in `records`.
    func check(_ signed: SignedApproval, host name: String, proposalID: String, records: [AuditChain.Record]) -> Result<Void, Problem> {
        let statement: ApprovalStatement
        let signature: SSHSignature
        do {
            statement = try ApprovalStatement.parse(signed.statement)
            signature = try SSHSignature.parse(armored: signed.signature)
        } catch {
            return .failure(.invalid("unreadable statement or signature: \(error)"))
        }
        guard statement.proposalID == proposalID, statement.host == name else {
            return .failure(.invalid("the statement is for proposal \(statement.proposalID) on \(statement.host)"))
        }
        guard let host = configuration.inventory.host(named: name) else {
            return .failure(.invalid("host \(name) is not in the inventory: its approvers' keys are unknown"))
        }
        guard host.approvers.contains(where: { $0.principal == statement.principal && $0.key.blob == signature.publicKey.blob }) else {
            return .failure(.invalid("signed by \(signature.publicKey.fingerprint), which mcp_approvers does not list for \(statement.principal) on \(name)"))
        }
        do {
            try signature.verify(message: Array(signed.statement.utf8), namespace: ApprovalStatement.namespace)
        } catch {
            return .failure(.invalid("the signature does not verify: \(error)"))
        }
        let head = statement.auditHead
        guard head.sequence > 0 else { return .success(()) }
        let hash = head.hash.hasPrefix("sha256:") ? String(head.hash.dropFirst(7)) : head.hash
        if let broken = AuditChain.check(AuditChain.Anchor(seq: head.sequence, hash: hash), in: records) {
            return .failure(broken.problem.contains("missing") ? .missingRow(head.sequence, broken.problem) : .invalid(broken.problem))
        }
        return .success(())
    }
}

/// One entry of a host's ledger, as the reader verb `ledger` prints it.
public struct LedgerEntry: Sendable, Equatable {
    public var id: String
    public var fields: String
    public var approvals: [SignedApproval]

    /// Reads `entry ID FIELDS` lines, each followed by `statement N B64` and `signature N B64` pairs.
    public static func parse(_ text: String) -> [LedgerEntry] {
        var entries: [LedgerEntry] = []
        var pendingStatement: String?
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            switch words.first {
            case "entry" where words.count >= 2:
                entries.append(LedgerEntry(id: words[1], fields: words.count > 2 ? words[2] : "", approvals: []))
                pendingStatement = nil
            case "statement" where words.count == 3:
                pendingStatement = words[2]
            case "signature" where words.count == 3 && !entries.isEmpty:
                if let statement = pendingStatement, let signed = SignedApproval.parse(statementBase64: statement, signatureBase64: words[2]) {
                    entries[entries.count - 1].approvals.append(signed)
                }
                pendingStatement = nil
            default:
                continue
            }
        }
        return entries
    }
}

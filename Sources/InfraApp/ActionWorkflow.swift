import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import InfraStore

/// The AI's side of approved actions, for every adapter (stdio MCP today, HTTP next): propose an action,
/// then execute it exactly once when its signed approvals verify, and verify the result. The rules live in
/// the domain (ActionRequest, ApprovalVerification, ActionLifecycle) and the store; this type orders them
/// and does the I/O through the adapter's audited `exec`.
public struct ActionWorkflow: Sendable {
    /// One audited SSH exec: request, host, account, timeout, the proposal it serves, and stdin.
    public typealias Exec = @Sendable (String, InventoryHost, Account, Duration?, String, [UInt8]) async throws -> ExecResult

    public let configuration: LoadedConfiguration
    public let store: ProposalStore
    let exec: Exec
    let approvalContext: ApprovalContext

    /// The workflow over a configuration, a store and the adapter's audited exec.
    public init(configuration: LoadedConfiguration, store: ProposalStore, exec: @escaping Exec) {
        self.configuration = configuration
        self.store = store
        self.exec = exec
        self.approvalContext = configuration.review.approvalContext
    }

    /// Why a request was refused; the text names what to do.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Records a proposal (PROPOSED) after checking it against the catalogue and the host's allowed services,
    /// and checking that the host runs the same catalogue as this server.
    public func propose(host: InventoryHost, action: String, parameters: [String: String], rationale: String,
                        proposer: String, client: String) async throws -> ProposalRecord {
        let request: ActionRequest
        do {
            request = try ActionRequest.make(actionName: action, host: host, parameters: parameters, catalogue: configuration.catalogue)
        } catch {
            throw Refusal(description: error.description)
        }
        try await requireSameCatalogue(on: host)
        return try store.propose(request, rationale: rationale, proposer: proposer, client: client, catalogueVersion: configuration.catalogue.version)
    }

    /// Refuses a proposal for a host whose installed catalogue is not the server's: the action approved
    /// here would not be the action that runs there.
    func requireSameCatalogue(on host: InventoryHost) async throws {
        let answer = try await exec("version", host, .reader, nil, "", [])
        let reported = ComponentDrift.reported(in: answer.stdoutText)
        guard let expected = configuration.releaseComponents["pra-catalogue.tsv"], let theirs = reported["pra-catalogue.tsv"] else { return }
        guard theirs == expected else {
            throw Refusal(description: "cannot propose on \(host.name): its action catalogue (sha256 \(theirs.prefix(12))…) differs from the "
                                       + "server's (\(expected.prefix(12))…, LINUX_MCP_CATALOGUE); the operator must redeploy the role "
                                       + "or run the server with the same release. mcp-linux-infra doctor shows the DRIFT.")
        }
    }

    /// What an adapter that is stopping tells a running execution.
    public struct Stopping: Sendable {
        /// True once the adapter's grace period is over: no result can be recorded any more.
        public var isAbandoning: @Sendable () -> Bool
        /// Records that the action was left EXECUTING (the next start marks it INTERRUPTED).
        public var leftExecuting: @Sendable (ProposalRecord, any Error) async -> Void

        /// Creates the hooks.
        public init(isAbandoning: @escaping @Sendable () -> Bool, leftExecuting: @escaping @Sendable (ProposalRecord, any Error) async -> Void) {
            self.isAbandoning = isAbandoning
            self.leftExecuting = leftExecuting
        }
    }

    /// Executes an approved action exactly once, then verifies it through the read-only account.
    ///
    /// 1. The digest is recomputed from what is stored and today's catalogue and inventory.
    /// 2. The claim (APPROVED → EXECUTING, one winner) verifies every stored signed approval again against
    ///    the inventory and known_hosts, and needs as many distinct principals as the catalogue's impact
    ///    and the inventory's threshold say.
    /// 3. The request goes to pra-exec with the signed approvals and the audit head on stdin; pra-run verifies
    ///    the approvals as root and keeps the head in its ledger.
    /// 4. The result, and the reader's probe of the unit when there is one, are recorded.
    public func execute(id given: String, executor: String, stopping: Stopping) async throws -> ProposalRecord {
        let record = try store.proposal(given)
        var digest = "sha256:unavailable"
        var request: ActionRequest?
        if let host = configuration.inventory.host(named: record.host),
           let made = try? ActionRequest.make(actionName: record.action, host: host, parameters: record.parameters,
                                              catalogue: configuration.catalogue) {
            request = made
            digest = made.digest(catalogueVersion: configuration.catalogue.version)
        }
        let impact = configuration.catalogue.action(named: record.action)?.impact ?? .high
        let policy = configuration.settings.approvalPolicy
        let required = configuration.inventory.host(named: record.host).map { policy.approvalsNeeded(for: impact, on: $0) }
            ?? policy.approvalsNeeded(for: impact)
        let claimed = try store.claimExecution(record.id, executor: executor, currentDigest: digest, owner: .current,
                                               context: approvalContext, required: required)
        guard let request else { throw Refusal(description: "internal: claimed without a request") }
        // The approvals, then the audit head with this claim in it: the host's ledger keeps it, a witness of the
        // log outside the database (`audit verify --hosts` checks the chain still holds it).
        let approvalLines = Array((claimed.approvals.map(\.stdinLine).joined() + "audit-head \(claimed.head.seq) \(claimed.head.hash)\n").utf8)

        var outcome = ExecutionOutcome(exitCode: nil, stdout: "", stderr: "", verification: "", verified: "not-checked", succeeded: false)
        do {
            let answer = try await exec(request.execRequest(correlation: record.id), request.host, .runner, .seconds(330), record.id, approvalLines)
            outcome.exitCode = answer.exitCode.map(Int.init)
            outcome.stdout = answer.stdoutText
            outcome.stderr = answer.stderrText
        } catch {
            if stopping.isAbandoning() {
                // The adapter is stopping and its grace period is over: no result is known, so none is recorded.
                await stopping.leftExecuting(record, error)
                throw Refusal(description: "the server stopped before \(record.id) finished; it stays EXECUTING and is marked INTERRUPTED "
                                           + "at the next start. Check the host with the read-only tools.")
            }
            outcome.stderr = "not run to completion: \(error)"
        }
        if outcome.exitCode == 0 {
            if let probe = request.readerProbe {
                do {
                    let seen = try await exec(probe, request.host, .reader, nil, record.id, [])
                    let state = seen.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
                    outcome.verification = "mcp-reader `\(probe)`: \(state.isEmpty ? "exit \(seen.exitCode.map(String.init) ?? "?")" : state)"
                    outcome.verified = state == "active" ? "yes" : "no"
                } catch where stopping.isAbandoning() {
                    outcome.verification = "not checked: the server stopped before mcp-reader `\(probe)` answered"
                } catch {
                    outcome.verification = "mcp-reader `\(probe)` failed: \(error)"
                    outcome.verified = "no"
                }
            } else {
                outcome.verification = request.verification.isEmpty
                    ? "this action has no verification probe"
                    : "no read-only probe for this action; pra-run verified it as root: `\(request.verification.joined(separator: " "))`"
            }
        }
        outcome.succeeded = outcome.exitCode == 0 && outcome.verified != "no"
        return try store.finishExecution(record.id, outcome: outcome, executor: executor)
    }
}

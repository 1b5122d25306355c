import InfraDomain

/// One proposal as every front-end shows it (the MCP tools, the CLI's review, the console): the stored
/// record, what happens next, and, for an approver, the review: what will run is rendered from the catalogue whose SHA-256 is the
/// proposal's catalogue version (impact, exact command, verification), never from the database row's copies,
/// and the digest is recomputed from the stored request. A proposal that fails either check can be read but
/// not signed; ``problem`` says why.
public struct ProposalReview: Sendable {
    /// The stored proposal (its free text is the AI's: print it escaped and marked).
    public var record: ProposalRecord
    /// The request rebuilt from the catalogue and the inventory, when it still validates.
    public var request: ActionRequest?
    /// The digest recomputed from action, host, parameters and catalogue version.
    public var digest: String
    /// Why this proposal must not be signed, or nil.
    public var problem: String?

    /// Reviews `record` against the reviewer's own catalogue and inventory.
    public init(record: ProposalRecord, catalogue: ActionCatalogue, cataloguePath: String, inventory: Inventory) {
        self.record = record
        digest = ApprovalDigest.compute(action: record.action, host: record.host, parameters: record.parameters,
                                        catalogueVersion: record.catalogueVersion)
        guard record.catalogueVersion == catalogue.version else {
            problem = "the proposal was made against catalogue \(record.catalogueVersion), but \(cataloguePath) (LINUX_MCP_CATALOGUE) is "
                + "\(catalogue.version): what would run cannot be shown. Review with the catalogue the targets run"
            return
        }
        guard let host = inventory.host(named: record.host) else {
            problem = "host \(record.host) is not in the inventory (LINUX_MCP_INVENTORY)"
            return
        }
        do {
            request = try ActionRequest.make(actionName: record.action, host: host, parameters: record.parameters, catalogue: catalogue)
        } catch {
            problem = "the stored request does not validate against the catalogue and inventory: \(error.description)"
            return
        }
        do {
            _ = try ApprovalDigest.recompute(stored: record.digest, action: record.action, host: record.host, parameters: record.parameters,
                                             catalogueVersion: record.catalogueVersion)
        } catch {
            problem = error.description
            return
        }
        if let request, record.command != request.command || record.verification != request.verification
            || record.impact != request.action.impact.rawValue {
            problem = "the database's copy of the impact, command or verification differs from the catalogue's: the row was changed "
                + "(what runs is the catalogue's, shown here)"
        }
    }

    /// What happens next, for the AI that proposed it.
    public var nextStep: String {
        switch record.state {
        case .proposed:
            "Wait: a human must approve it outside this conversation (\(record.approvals) of \(record.requiredApprovals) approvals): "
                + "mcp-linux-infra actions show \(record.id.prefix(8)), then actions approve. Tell the user; do not poll in a loop."
        case .approved: "Approved: you may call execute_pra_action once, before the approval expires."
        case .executing: "It is running; call get_pra_action later for the result. Do not execute it again."
        case .completed: "Done and verified; confirm with the read-only tools."
        case .failed: "It failed; read the execution result, diagnose again, and propose anew only if a new action is justified."
        case .interrupted: "The server running it stopped before recording a result. Check the host with the read-only tools; it will not re-run by itself."
        case .rejected: "A human rejected it; read the reason in decisions. Do not propose the same action again without new evidence."
        case .expired: "It expired without being run. Propose again only if it is still needed."
        case .cancelled: "Withdrawn by its proposer."
        }
    }

    /// Who runs it, and how, on its host.
    public func runsAs(runner: String) -> String {
        "root on \(record.host), through \(runner) → pra-exec → sudo pra-run \(record.action)"
    }
}

import Foundation
import InfraDomain

/// The stored proposals as every use case reaches them: ids resolved from a unique prefix, expiry applied
/// before anything else, and each rule of ``ProposalRules`` written through the action store in one
/// transaction. Shared by the AI's side (``ActionWorkflow``) and the human side (``ActionReview``).
struct ProposalRegistry: Sendable {
    let store: any ActionStore
    let policy: ApprovalPolicy
    /// The clock (tests move it).
    let now: @Sendable () -> Date

    /// The full id of the proposal `idOrPrefix` names: the whole id, or a unique prefix of at least 4 characters.
    /// A store that fails throws its own error, never a ``Refusal``: adapters show refusals to the client, and
    /// the store's message (SQL text) is for the server log only.
    func resolve(_ idOrPrefix: String) throws -> String {
        let text = idOrPrefix.lowercased()
        guard text.count >= 4, text.count <= 36, text.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw Refusal(.invalidArgument, "argument 'id': '\(TerminalText.escaped(idOrPrefix))' is not an action id "
                                            + "(36 characters, or a unique prefix of at least 4)")
        }
        let matches = try store.ids(withPrefix: text, limit: 5)
        guard let first = matches.first else {
            throw Refusal(.notFound, "no action with id '\(text)'; list them with `mcp-linux-infra actions list --all` or list_pending_actions")
        }
        guard matches.count == 1 else {
            throw Refusal(.ambiguousID, "'\(text)' matches several actions (\(matches.joined(separator: ", "))); give more of the id")
        }
        return first
    }

    /// One proposal by id or unique prefix, as stored.
    func proposal(_ idOrPrefix: String) throws -> ProposalRecord {
        let id = try resolve(idOrPrefix)
        guard let record = try store.load(id) else { throw Refusal(.notFound, "no action with id '\(id)'") }
        return record
    }

    /// Proposals in `states` (every state when empty), newest first, after expiring those due.
    func list(states: [ActionLifecycle.State] = []) throws -> [ProposalRecord] {
        try expireDue()
        return try store.list(states: states)
    }

    /// Expires every proposal whose time ran out; returns the ids this call expired (another server sweeping at
    /// the same time finds them no longer due inside the store's transaction and writes nothing).
    @discardableResult
    func expireDue() throws -> [String] {
        let date = now()
        var expired: [String] = []
        var firstFailure: (any Error)?
        for record in try store.list(states: [.proposed, .approved]) where ProposalRules.expiry(of: record, now: date) != nil {
            var wrote = false
            do {
                _ = try store.update(record.id) { current, _ in
                    let change = ProposalRules.expiry(of: current, now: now())
                    wrote = change != nil
                    return change
                }
            } catch {
                // One proposal the store will not expire must not keep the others alive: go on, then report it.
                firstFailure = firstFailure ?? error
            }
            if wrote { expired.append(record.id) }
        }
        if let firstFailure { throw firstFailure }
        return expired
    }

    /// Applies one rule to the proposal `id` names, in one transaction. A proposal found due expires first
    /// (committed), and the rule then sees it EXPIRED.
    @discardableResult
    func apply(_ id: String, _ rule: (ProposalRecord, ChainView, Date) throws -> ProposalChange?) throws
        -> (record: ProposalRecord, head: AuditChain.Anchor?) {
        var expired = false
        let result = try store.update(id) { record, chain in
            let date = now()
            if let expiry = ProposalRules.expiry(of: record, now: date) {
                expired = true
                return expiry
            }
            return try rule(record, chain, date)
        }
        guard expired else { return result }
        return try store.update(id) { record, chain in try rule(record, chain, now()) }
    }
}

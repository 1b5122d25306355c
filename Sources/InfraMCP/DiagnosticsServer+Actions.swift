import Foundation
import InfraApp
import InfraDomain
import InfraSSH
import InfraStore
import MCP

extension DiagnosticsServer {
    /// Runs one of ActionTools' tools; `validated` gets the host, action and id once they passed validation.
    func callAction(_ name: String, _ arguments: [String: Value], validated: inout ToolCallAudit) async throws -> Value {
        switch name {
        case "propose_pra_action":
            try only(arguments, ["host", "action", "parameters", "rationale"])
            let hostName = try text(arguments, "host", pattern: "^[A-Za-z0-9_.-]{1,253}$", example: "web1")
            guard let host = configuration.inventory.host(named: hostName) else {
                throw ToolCallError.unknownHost("'\(hostName)' is not an inventory host (a proposal names exactly one host)")
            }
            validated.host = host.name
            let actionName = try text(arguments, "action", pattern: "^[a-z][a-z0-9_]{0,63}$", example: "restart_unbound")
            if let known = configuration.catalogue.action(named: actionName) { validated.action = known.name }
            var parameters: [String: String] = [:]
            if let given = arguments["parameters"] {
                guard case .object(let object) = given else { throw ToolCallError.badArgument("parameters", "must be an object of NAME: \"value\"") }
                for (key, value) in object {
                    guard let string = value.stringValue else { throw ToolCallError.badArgument("parameters", "'\(key)' must be a string") }
                    parameters[key] = string
                }
            }
            guard let rationale = arguments["rationale"]?.stringValue, (10...2000).contains(rationale.count),
                  !rationale.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) else {
                throw ToolCallError.badArgument("rationale", "must be 10 to 2000 characters without control characters (what you saw, what this fixes)")
            }
            let record: ProposalRecord
            do {
                record = try await workflow.propose(host: host, action: actionName, parameters: parameters, rationale: rationale,
                                                    proposer: user, client: await session.client)
            } catch let refusal as ActionWorkflow.Refusal {
                throw ToolCallError.invalid(refusal.description)
            }
            validated.proposalID = record.id
            return .object(["action": view(record)])
        case "list_pending_actions":
            try only(arguments, [])
            try proposals.expireDue()
            return .object(["actions": .array(try proposals.list(states: [.proposed, .approved]).map(view))])
        case "get_pra_action":
            try only(arguments, ["id"])
            return .object(["action": view(try proposals.proposal(try storedID(arguments, validated: &validated)))])
        case "cancel_pra_action":
            try only(arguments, ["id", "reason"])
            guard let reason = arguments["reason"]?.stringValue, (3...500).contains(reason.count),
                  !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw ToolCallError.badArgument("reason", "must be 3 to 500 characters without control characters")
            }
            return .object(["action": view(try proposals.cancel(try storedID(arguments, validated: &validated), by: user, reason: reason))])
        case "execute_pra_action":
            try only(arguments, ["id"])
            return .object(["action": view(try await execute(id: try storedID(arguments, validated: &validated)))])
        case "list_pra_catalog":
            try only(arguments, [])
            return Self.catalogueValue(configuration.catalogue)
        default:
            throw ToolCallError.unknownTool(name)
        }
    }

    /// Executes an approved action exactly once (InfraApp.ActionWorkflow), with this server's stop hooks.
    func execute(id given: String) async throws -> ProposalRecord {
        let executor = "mcp:\(user)"
        let calls = self.calls, auditWriter = self.auditWriter
        let stopping = ActionWorkflow.Stopping(isAbandoning: { calls.isAbandoning }, leftExecuting: { record, error in
            try? await auditWriter.record(.init(actor: executor, kind: "execution", host: record.host, action: record.action, proposalID: record.id,
                                                outcome: "left-executing", detail: ["reason": "server stopping after its grace period", "error": "\(error)"]))
        })
        do {
            return try await workflow.execute(id: given, executor: executor, stopping: stopping)
        } catch let refusal as ActionWorkflow.Refusal {
            throw StoreError.refused(refusal.description)
        }
    }

    /// A proposal as the AI sees it, with the next step spelled out.
    func view(_ record: ProposalRecord) -> Value {
        let iso = ISO8601DateFormatter()
        var fields: [String: Value] = [
            "id": .string(record.id), "action": .string(record.action), "host": .string(record.host),
            "parameters": .object(record.parameters.mapValues { .string($0) }), "impact": .string(record.impact),
            "state": .string(record.state.rawValue), "digest": .string(record.digest), "rationale": .string(record.rationale),
            "proposer": .string(record.proposer), "command": .array(record.command.map { .string($0) }),
            "runsAs": .string("root on \(record.host), through \(configuration.runner.user) → pra-exec → sudo pra-run \(record.action)"),
            "verification": .string(record.verification.isEmpty ? "none" : record.verification.joined(separator: " ")),
            "createdAt": .string(iso.string(from: record.createdAt)), "expiresAt": .string(iso.string(from: record.expiresAt)),
            "approvals": .int(record.approvals), "requiredApprovals": .int(record.requiredApprovals),
            "decisions": .array(record.decisions.map {
                .object(["approver": .string($0.approver), "approves": .bool($0.approves), "reason": .string($0.reason),
                         "at": .string(iso.string(from: $0.at))])
            }),
            "transitions": .array(record.transitions.map {
                .object(["from": .string($0.from?.rawValue ?? "-"), "to": .string($0.to.rawValue), "actor": .string($0.actor),
                         "reason": .string($0.reason), "at": .string(iso.string(from: $0.at))])
            }),
            "nextStep": .string(Self.nextStep(record)),
        ]
        if let expires = record.approvalExpiresAt { fields["approvalExpiresAt"] = .string(iso.string(from: expires)) }
        if let run = record.execution {
            var execution: [String: Value] = ["startedAt": .string(iso.string(from: run.startedAt)), "executor": .string(run.executor)]
            if let finished = run.finishedAt { execution["finishedAt"] = .string(iso.string(from: finished)) }
            if let code = run.exitCode { execution["exitCode"] = .int(code) }
            if let out = run.stdout { execution["stdout"] = .string(String(out.suffix(4000))) }
            if let err = run.stderr { execution["stderr"] = .string(String(err.suffix(4000))) }
            if let check = run.verification { execution["verification"] = .string(check) }
            if let verified = run.verified { execution["verified"] = .string(verified) }
            fields["execution"] = .object(execution)
        }
        return .object(fields)
    }

    static func nextStep(_ record: ProposalRecord) -> String {
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

    func only(_ arguments: [String: Value], _ allowed: [String]) throws(ToolCallError) {
        for key in arguments.keys.sorted() where !allowed.contains(key) { throw .unknownArgument(key, allowed: allowed) }
    }

    func text(_ arguments: [String: Value], _ name: String, pattern: String, example: String) throws(ToolCallError) -> String {
        guard let value = arguments[name] else { throw .missingArgument(name) }
        guard let text = value.stringValue, text.range(of: pattern, options: .regularExpression) != nil else {
            throw .badArgument(name, "has not the allowed form \(pattern), for example \(example)")
        }
        return text
    }

    func id(_ arguments: [String: Value]) throws(ToolCallError) -> String {
        try text(arguments, "id", pattern: "^[0-9a-f-]{4,36}$", example: "3f2a9c1e")
    }

    /// The full id of the stored proposal the `id` argument names (a unique prefix is enough), noted in `validated`.
    func storedID(_ arguments: [String: Value], validated: inout ToolCallAudit) throws -> String {
        let id = try proposals.proposal(try id(arguments)).id
        validated.proposalID = id
        return id
    }
}

import Foundation
import InfraApp
import InfraDomain
import MCP

extension MCPServer {
    /// Runs one of ActionTools' tools through the workflow; `validated` gets the host, action and id once
    /// they passed validation.
    func callAction(_ name: String, _ arguments: [String: Value], identity: SessionIdentity, validated: inout ToolCallAudit) async throws -> Value {
        // The host, then the action, go to the audit columns as soon as each is valid (in that order, as they are
        // checked), even when a later argument is refused.
        if name == "propose_pra_action", let host = try? arguments["host"].map(ActionTools.host.validate),
           services.diagnostics.inventory.host(named: host) != nil {
            validated.host = host
            if let action = try? arguments["action"].map(ActionTools.action.validate), services.workflow.actionCatalogue.action(named: action) != nil {
                validated.action = action
            }
        }
        let words = try ToolArgument.validate(arguments, ActionTools.arguments[name] ?? [])
        let workflow = services.workflow
        switch name {
        case "propose_pra_action":
            let host = words["host"]!, action = words["action"]!
            let parameters = try arguments["parameters"].map { try ActionTools.parameters.validateMap($0) } ?? [:]
            let proposed = try await workflow.propose(host: host, action: action, parameters: parameters, rationale: words["rationale"]!,
                                                      by: await identity.caller)
            validated.proposalID = proposed.id
            var result: [String: Value] = ["action": view(workflow.view(proposed))]
            if let warning = workflow.proposalWarning(host: host) { result["warning"] = .string(warning) }
            return .object(result)
        case "list_pending_actions":
            return .object(["actions": .array(try workflow.pending().map(view))])
        case "get_pra_action":
            validated.proposalID = try workflow.resolve(words["id"]!)
            return .object(["action": view(try workflow.get(validated.proposalID!))])
        case "cancel_pra_action":
            validated.proposalID = try workflow.resolve(words["id"]!)
            return .object(["action": view(try workflow.cancel(validated.proposalID!, reason: words["reason"]!, by: await identity.caller))])
        case "execute_pra_action":
            validated.proposalID = try workflow.resolve(words["id"]!)
            let calls = self.calls, id = validated.proposalID!
            // Its own task: a client that goes away (or cancels the call) never cancels an action once claimed; the
            // run finishes and records its result whoever still listens.
            let run = Task { try await workflow.execute(id, stopping: .init { calls.isAbandoning }) }
            return .object(["action": view(try await run.value)])
        case "list_pra_catalog":
            return Self.catalogueValue(workflow.actionCatalogue)
        default:
            throw ToolCallError.unknownTool(name)
        }
    }

    /// A proposal as the AI sees it (the stored record), with the next step spelled out.
    func view(_ review: ProposalReview) -> Value {
        let record = review.record
        var fields: [String: Value] = [
            "id": .string(record.id), "action": .string(record.action), "host": .string(record.host),
            "parameters": .object(record.parameters.mapValues { .string($0) }), "impact": .string(record.impact),
            "state": .string(record.state.rawValue), "digest": .string(record.digest), "rationale": .string(record.rationale),
            "proposer": .string(record.proposer), "command": .array(record.command.map { .string($0) }),
            "runsAs": .string(review.runsAs(runner: services.workflow.runnerUser)),
            "verification": .string(record.verification.isEmpty ? "none" : record.verification.joined(separator: " ")),
            "createdAt": .string(UTCTime.text(record.createdAt)), "expiresAt": .string(UTCTime.text(record.expiresAt)),
            "approvals": .int(record.approvals), "requiredApprovals": .int(record.requiredApprovals),
            "decisions": .array(record.decisions.map {
                .object(["approver": .string($0.approver), "approves": .bool($0.approves), "reason": .string($0.reason),
                         "at": .string(UTCTime.text($0.at))])
            }),
            "transitions": .array(record.transitions.map {
                .object(["from": .string($0.from?.rawValue ?? "-"), "to": .string($0.to.rawValue), "actor": .string($0.actor),
                         "reason": .string($0.reason), "at": .string(UTCTime.text($0.at))])
            }),
            "nextStep": .string(review.nextStep),
        ]
        if let expires = record.approvalExpiresAt { fields["approvalExpiresAt"] = .string(UTCTime.text(expires)) }
        if let run = record.execution {
            var execution: [String: Value] = ["startedAt": .string(UTCTime.text(run.startedAt)), "executor": .string(run.executor)]
            if let finished = run.finishedAt { execution["finishedAt"] = .string(UTCTime.text(finished)) }
            if let code = run.exitCode { execution["exitCode"] = .int(code) }
            if let out = run.stdout { execution["stdout"] = .string(String(out.suffix(4000))) }
            if let err = run.stderr { execution["stderr"] = .string(String(err.suffix(4000))) }
            if let check = run.verification { execution["verification"] = .string(check) }
            if let verified = run.verified { execution["verified"] = .string(verified) }
            fields["execution"] = .object(execution)
        }
        return .object(fields)
    }
}

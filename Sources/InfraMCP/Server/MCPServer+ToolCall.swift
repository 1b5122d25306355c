import Foundation
import InfraApp
import InfraDomain
import MCP

extension MCPServer {
    /// One tools/call: track it, route it, audit it (validated values in the columns, the client's raw
    /// arguments escaped and marked), count it (by tool and outcome), answer it.
    func call(_ parameters: CallTool.Parameters, server: Server, identity: SessionIdentity) async -> CallTool.Result {
        let started = ContinuousClock.now
        // The raw id is escaped: a stop that leaves this call running names it in the audit log and on stderr.
        guard let ticket = calls.begin(tool: parameters.name, proposalID: TerminalText.escaped(parameters.arguments?["id"]?.stringValue ?? "")) else {
            services.metrics.toolCall(tool: metricLabel(forTool: parameters.name), ok: false)
            return .init(content: [.text(text: "the server is shutting down and takes no new calls; call again once it has restarted",
                                         annotations: nil, _meta: nil)], isError: true)
        }
        defer { calls.end(ticket) }
        var validated = ToolCallAudit()
        let answer = await dispatch(parameters, server: server, identity: identity, validated: &validated)
        do {
            try await services.recorder.record(validated.entry(actor: AuditActor.server(identity.name), name: parameters.name, arguments: parameters.arguments,
                                                               outcome: answer.isError == true ? "error" : "ok",
                                                               durationMs: AuditedExec.milliseconds(started.duration(to: .now))))
        } catch {
            logger.error("audit log unavailable", metadata: ["error": "\(error)"])
            services.metrics.toolCall(tool: metricLabel(forTool: parameters.name), ok: false)
            // The store's own message (SQL text, sometimes a path) stays in the log.
            return .init(content: [.text(text: "audit log unavailable; the call's result is withheld (the server log has the detail)",
                                         annotations: nil, _meta: nil)], isError: true)
        }
        services.metrics.toolCall(tool: metricLabel(forTool: parameters.name), ok: answer.isError != true)
        return answer
    }

    /// Routes one tools/call; `validated` gets each value that passed validation, for the call's audit row.
    func dispatch(_ parameters: CallTool.Parameters, server: Server, identity: SessionIdentity,
                  validated: inout ToolCallAudit) async -> CallTool.Result {
        do {
            try ArgumentEnvelope.check(parameters.arguments ?? [:])
            if ActionTools.names.contains(parameters.name) {
                validated.tool = parameters.name
                return try result(try await callAction(parameters.name, parameters.arguments ?? [:], identity: identity, validated: &validated), isError: false)
            }
            if parameters.name == Self.listHostsTool.name {
                validated.tool = parameters.name
                return try result(await listHosts(parameters.arguments ?? [:]), isError: false)
            }
            guard let tool = tools[parameters.name] else { throw ToolCallError.unknownTool(parameters.name) }
            validated.tool = tool.name
            return try await diagnose(tool, parameters, server: server, validated: &validated)
        } catch let error as ToolCallError {
            logger.notice("tool call refused", metadata: ["tool": .string(parameters.name), "reason": .string(error.description)])
            return .init(content: [.text(text: error.description, annotations: nil, _meta: nil)], isError: true)
        } catch let refusal as Refusal {
            logger.notice("refused", metadata: ["tool": .string(parameters.name), "code": .string(refusal.code.rawValue),
                                                "reason": .string(refusal.message)])
            return .init(content: [.text(text: refusal.message, annotations: nil, _meta: nil)], isError: true)
        } catch {
            // The detail goes to the log only: an answer never carries file paths or type names.
            logger.error("tool call failed", metadata: ["tool": .string(parameters.name), "error": .string(String(describing: error))])
            return .init(content: [.text(text: "internal error in \(parameters.name); the server log has the detail", annotations: nil, _meta: nil)],
                         isError: true)
        }
    }

    /// A diagnostic tool: validate its arguments, run it through the diagnostics use case (fan-out, egress),
    /// shape one result per host.
    func diagnose(_ tool: DiagnosticTool, _ parameters: CallTool.Parameters, server: Server,
                  validated: inout ToolCallAudit) async throws -> CallTool.Result {
        let started = ContinuousClock.now
        let (expression, words) = try tool.validate(parameters.arguments ?? [:])
        let diagnostics = services.diagnostics
        _ = try diagnostics.hosts(expression, single: !tool.fansOut)
        validated.host = expression
        let progress = parameters._meta?.progressToken
        let results = try await diagnostics.run(
            .init(expression: expression, fansOut: tool.fansOut, words: words, requests: tool.requests(words),
                  acceptedExitCodes: tool.acceptedExitCodes, egress: tool.egress),
            parse: tool.parse
        ) { done, total in
            guard let progress else { return }
            try? await server.notify(ProgressNotification.message(.init(progressToken: progress, progress: Double(done),
                                                                        total: Double(total), message: "\(done) of \(total) hosts")))
        }
        logger.info("tool call", metadata: ["tool": .string(tool.name), "hosts": .stringConvertible(results.count),
                                            "failed": .stringConvertible(results.filter { !$0.ok }.count),
                                            "ms": .stringConvertible(AuditedExec.milliseconds(started.duration(to: .now)))])
        let allFailed = !results.isEmpty && results.allSatisfy { !$0.ok }
        return try result(.object(["results": .array(results.map(Self.value))]), isError: allFailed)
    }

    /// One host's result: `{"host", "ok", "data" | "error", "durationMs"}`.
    package static func value(_ result: Diagnostics.HostResult<Value>) -> Value {
        var fields: [String: Value] = ["host": .string(result.host), "ok": .bool(result.ok),
                                       "durationMs": .int(Int(AuditedExec.milliseconds(result.duration)))]
        if let data = result.value { fields["data"] = data }
        if let error = result.error { fields["error"] = .string(error) }
        return .object(fields)
    }

    /// The structured result plus the same JSON as text.
    package func result(_ value: Value, isError: Bool) throws -> CallTool.Result {
        let text = Self.json(value)
        return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: Optional<Value>.some(value),
                               isError: isError ? true : nil)
    }

    /// Sorted-key JSON text.
    package static func json(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

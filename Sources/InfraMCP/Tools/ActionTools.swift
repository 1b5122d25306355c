import MCP

/// The MCP tools of approved actions. The AI can propose, read, execute (once humans approved) and cancel;
/// there is deliberately no tool to approve or reject (docs/PRA-PROCEDURES.md says why).
enum ActionTools {
    /// The arguments, validated by ToolArgument as the diagnostic tools' are (their schemas come from the same place).
    static let id = ToolArgument("id", .pattern("[0-9a-f-]{4,36}", maxLength: 36, example: "3f2a9c1e"), required: true,
                                 "The action id propose_pra_action returned (or a unique prefix of at least 4 characters).")
    static let host = ToolArgument("host", .pattern("[A-Za-z0-9_.-]{1,253}", maxLength: 253, example: "web1"), required: true,
                                   "One inventory host name.")
    static let action = ToolArgument("action", .pattern("[a-z][a-z0-9_]{0,63}", maxLength: 64, example: "restart_unbound"), required: true,
                                     "A catalogue action (list_pra_catalog).")
    static let parameters = ToolArgument("parameters", .stringMap(maxValueLength: 200), "The action's parameters, by name (none for most actions).")
    static let rationale = ToolArgument("rationale", .text(.rationale, example: "nginx is failed since 09:12 (journal: bind() failed); a restart clears it"),
                                        required: true, "Why: what you observed with the read-only tools and what the action should fix.")
    static let reason = ToolArgument("reason", .text(.reason, example: "no longer needed"), required: true, "Why it is withdrawn.")

    /// The arguments of each tool.
    static let arguments: [String: [ToolArgument]] = [
        "propose_pra_action": [host, action, parameters, rationale], "list_pending_actions": [], "get_pra_action": [id],
        "execute_pra_action": [id], "cancel_pra_action": [id, reason], "list_pra_catalog": [],
    ]
    static let proposal: Value = .object([
        "type": "object",
        "properties": .object([
            "id": DiagnosticTools.string, "action": DiagnosticTools.string, "host": DiagnosticTools.string,
            "parameters": .object(["type": "object", "additionalProperties": DiagnosticTools.string]),
            "impact": .object(["type": "string", "enum": ["LOW", "MEDIUM", "HIGH"]]),
            "state": .object(["type": "string", "enum": ["PROPOSED", "APPROVED", "REJECTED", "EXPIRED", "CANCELLED", "EXECUTING",
                                                         "COMPLETED", "FAILED", "INTERRUPTED"]]),
            "digest": DiagnosticTools.string, "rationale": DiagnosticTools.string, "proposer": DiagnosticTools.string,
            "command": DiagnosticTools.strings, "runsAs": DiagnosticTools.string, "verification": DiagnosticTools.string,
            "createdAt": DiagnosticTools.string, "expiresAt": DiagnosticTools.string, "approvalExpiresAt": DiagnosticTools.string,
            "approvals": DiagnosticTools.integer, "requiredApprovals": DiagnosticTools.integer,
            "decisions": DiagnosticTools.array(.object(["type": "object"])),
            "transitions": DiagnosticTools.array(.object(["type": "object"])),
            "execution": .object(["type": "object"]),
            "nextStep": DiagnosticTools.string,
        ]),
        "required": ["id", "action", "host", "impact", "state", "digest", "command", "expiresAt", "approvals", "requiredApprovals", "nextStep"],
    ])

    static func tool(_ name: String, _ title: String, _ description: String,
                     readOnly: Bool, destructive: Bool, idempotent: Bool, output: Value) -> Tool {
        let given = arguments[name] ?? []
        return Tool(name: name, title: title, description: description,
             inputSchema: .object(["type": "object", "properties": .object(Dictionary(uniqueKeysWithValues: given.map { ($0.name, $0.schema) })),
                                   "required": .array(given.filter(\.required).map { .string($0.name) }), "additionalProperties": false]),
             annotations: .init(title: title, readOnlyHint: readOnly, destructiveHint: destructive, idempotentHint: idempotent, openWorldHint: false),
             outputSchema: output)
    }

    static let all: [Tool] = [
        tool("propose_pra_action", "Propose an action",
             "Propose one catalogue action on one inventory host, with your rationale. Nothing runs: humans must approve it "
                + "outside this conversation (mcp-linux-infra actions approve), then you may execute it. Returns the id, the impact, "
                + "the digest the approval is bound to, the expiry and the exact command that would run as root. On a host that lists no "
                + "approvers the proposal is still recorded, and `warning` says that nobody can approve it until the operator adds some.",
             readOnly: false, destructive: false, idempotent: false,
             output: .object(["type": "object", "properties": .object(["action": proposal, "warning": DiagnosticTools.string]), "required": ["action"]])),
        tool("list_pending_actions", "Pending actions",
             "Actions waiting for human approval (PROPOSED) or approved and waiting for execution (APPROVED).",
             readOnly: true, destructive: false, idempotent: true,
             output: .object(["type": "object", "properties": .object(["actions": DiagnosticTools.array(proposal)]), "required": ["actions"]])),
        tool("get_pra_action", "Action status",
             "One action: its state, approvals, history and, once executed, its result and verification.",
             readOnly: true, destructive: false, idempotent: true,
             output: .object(["type": "object", "properties": .object(["action": proposal]), "required": ["action"]])),
        tool("execute_pra_action", "Execute an approved action",
             "Run an APPROVED action, once: as root on its host through pra-runner and sudo pra-run, then verify it through the "
                + "read-only account. Refused unless humans approved it, the approval has not expired, and nothing about it changed since.",
             readOnly: false, destructive: true, idempotent: false,
             output: .object(["type": "object", "properties": .object(["action": proposal]), "required": ["action"]])),
        tool("cancel_pra_action", "Cancel a proposal",
             "Withdraw an action you proposed that has not run yet (PROPOSED or APPROVED).",
             readOnly: false, destructive: false, idempotent: false,
             output: .object(["type": "object", "properties": .object(["action": proposal]), "required": ["action"]])),
        tool("list_pra_catalog", "Action catalogue",
             "Every action that can be proposed: impact, parameters, the exact command and its verification. Nothing else can ever run.",
             readOnly: true, destructive: false, idempotent: true,
             output: .object(["type": "object", "properties": .object(["version": DiagnosticTools.string,
                                                                       "actions": DiagnosticTools.array(.object(["type": "object"]))]),
                              "required": ["version", "actions"]])),
    ]

    static let names: Set<String> = Set(all.map(\.name))
}

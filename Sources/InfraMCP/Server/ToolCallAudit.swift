import InfraDomain
import MCP

/// The audit row of one tools/call, holding in its columns only what passed validation.
///
/// The call's handlers fill in a value once the rule that already decides it has accepted it: the host once
/// the inventory resolved it, the action once the catalogue knows it, the id once the store found the
/// proposal, the tool once it is one of ours. Everything else the client sent, the whole argument object
/// included, goes into the detail under `raw.*` keys, escaped (TerminalText) and so marked as the
/// client's raw input: the AI cannot put terminal control sequences into what a human reads from the log.
/// Single values are escaped as text; `raw.arguments` is the argument object's JSON with the same
/// characters as JSON escapes (still JSON, unless longer than ``rawLimit``, then cut and escaped as text).
struct ToolCallAudit: Sendable {
    /// The tool's name, once it names one of ours.
    var tool: String?
    /// An inventory host name (or a group or list the inventory resolved), once resolved.
    var host: String?
    /// A catalogue action name, once the catalogue knows it.
    var action: String?
    /// A stored proposal's full id, once the store found it.
    var proposalID: String?

    /// The most of any one raw value kept in the row, before escaping.
    static let rawLimit = 4096

    /// The row for a call to `name` with `arguments`, answered with `outcome` after `durationMs`.
    func entry(actor: String, name: String, arguments: [String: Value]?, outcome: String, durationMs: Int64) -> AuditChain.Record {
        var detail = ["durationMs": String(durationMs)]
        if let tool { detail["tool"] = tool } else { detail["raw.tool"] = Self.raw(name) }
        // JSON stays JSON: the same rule as JSON escapes, so the exact arguments can still be read back from it.
        let json = arguments.map { MCPServer.json(.object($0)) } ?? "{}"
        detail["raw.arguments"] = json.count <= Self.rawLimit ? TerminalText.jsonEscaped(json) : Self.raw(json)
        for (key, validated) in [("host", host), ("action", action), ("id", proposalID)] where validated == nil {
            if let given = arguments?[key] { detail["raw." + key] = Self.raw(given.stringValue ?? MCPServer.json(given)) }
        }
        return AuditChain.Record(actor: actor, kind: "tool", host: host ?? "", action: action ?? "", proposalID: proposalID ?? "",
                              outcome: outcome, detail: detail)
    }

    /// A value the client sent, as stored: at most ``rawLimit`` characters, escaped.
    static func raw(_ text: String) -> String {
        TerminalText.escaped(String(text.prefix(rawLimit)))
    }
}

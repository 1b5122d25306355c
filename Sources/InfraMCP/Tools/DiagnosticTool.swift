import InfraDomain
import MCP

/// One read-only diagnostic tool: its MCP description, arguments, and how one host's answer is produced.
///
/// Every tool runs only through mcp-reader and mcp-wrapper on an inventory host (`requests` turns the
/// validated arguments into wrapper requests, `parse` turns their output into the typed result).
public struct DiagnosticTool: Sendable {
    public let name: String
    public let title: String
    public let description: String
    /// True when `host` may name a group or a list: the call fans out and returns one result per host.
    public let fansOut: Bool
    public let arguments: [ToolArgument]
    /// JSON Schema of one host's `data`.
    public let dataSchema: Value
    /// Non-zero mcp-wrapper exit codes that still carry an answer when nothing was printed on stderr
    /// (grep finding nothing, ping getting no reply, ps not finding the PID).
    public let acceptedExitCodes: Set<Int32>
    /// The host lists (inventory) its arguments must be on, checked before any SSH.
    public let egress: [EgressAllowlist.Rule]
    /// The wrapper requests for one host, from the validated `NAME=VALUE` words.
    public let requests: @Sendable ([String: String]) -> [String]
    /// The typed result from the requests' outputs (in the same order).
    public let parse: @Sendable ([String]) throws -> Value

    /// Creates a tool.
    public init(name: String, title: String, description: String, fansOut: Bool, arguments: [ToolArgument],
                dataSchema: Value, acceptedExitCodes: Set<Int32> = [0], egress: [EgressAllowlist.Rule] = [], requests: @escaping @Sendable ([String: String]) -> [String],
                parse: @escaping @Sendable ([String]) throws -> Value) {
        self.name = name
        self.title = title
        self.description = description
        self.fansOut = fansOut
        self.arguments = arguments
        self.dataSchema = dataSchema
        self.acceptedExitCodes = acceptedExitCodes
        self.egress = egress
        self.requests = requests
        self.parse = parse
    }

    /// The `host` argument's schema.
    var hostSchema: Value {
        .object(["type": "string", "maxLength": 1024, "pattern": "^[A-Za-z0-9_.,-]+$",
                 "description": .string(fansOut
                    ? "An inventory host name, an inventory group, or a comma-separated list of them (see list_hosts)."
                    : "One inventory host name (see list_hosts).")])
    }

    /// The MCP tool description: input and output schemas, and all four annotations (read-only).
    var mcpTool: Tool {
        var properties: [String: Value] = ["host": hostSchema]
        for argument in arguments { properties[argument.name] = argument.schema }
        let required: [Value] = ["host"] + arguments.filter(\.required).map { .string($0.name) }
        let input: Value = .object(["type": "object", "properties": .object(properties), "required": .array(required),
                                    "additionalProperties": false])
        return Tool(name: name, title: title, description: description, inputSchema: input,
                    annotations: .init(title: title, readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false),
                    outputSchema: Self.resultsSchema(data: dataSchema))
    }

    /// `{"results": [{"host", "ok", "data" | "error"}]}`: the same shape for one host and for a fan-out.
    static func resultsSchema(data: Value) -> Value {
        .object([
            "type": "object",
            "properties": .object([
                "results": .object([
                    "type": "array",
                    "items": .object([
                        "type": "object",
                        "properties": .object([
                            "host": .object(["type": "string"]),
                            "ok": .object(["type": "boolean"]),
                            "data": data,
                            "error": .object(["type": "string"]),
                            "durationMs": .object(["type": "integer", "minimum": 0]),
                        ]),
                        "required": ["host", "ok", "durationMs"],
                    ]),
                ]),
            ]),
            "required": ["results"],
        ])
    }

    /// Checks the call's arguments: `host` plus exactly this tool's arguments, each in its allowed form.
    package func validate(_ given: [String: Value]) throws(ToolCallError) -> (host: String, words: [String: String]) {
        let names = ["host"] + arguments.map(\.name)
        for key in given.keys where !names.contains(key) { throw .unknownArgument(key, allowed: names) }
        guard let hostValue = given["host"] else { throw .missingArgument("host") }
        guard let host = hostValue.stringValue, !host.isEmpty, host.count <= 1024,
              host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.,-".contains($0)) }) else {
            throw .badArgument("host", "must be an inventory host name" + (fansOut ? ", group or comma-separated list" : "")
                               + " (letters, digits, _ . - and commas)")
        }
        var words: [String: String] = [:]
        for argument in arguments {
            if let value = given[argument.name] {
                words[argument.name] = try argument.validate(value)
            } else if argument.required {
                throw .missingArgument(argument.name)
            }
        }
        return (host, words)
    }
}

import Foundation
import InfraDomain
import MCP

/// The read-only diagnostic tools, each mapped to mcp-wrapper verbs and a typed parser (InfraDomain.WrapperOutput).
/// The tools of each concern live in their own file (`DiagnosticTools+System.swift`, …).
public enum DiagnosticTools {
    /// Every tool, in the order tools/list shows them.
    public static let all: [DiagnosticTool] = system + services + network + logs + processes + extras

    static let unitPattern = "[A-Za-z0-9][A-Za-z0-9_.@:-]{0,126}"
    static let wordPattern = "[A-Za-z0-9._:@/+,-]{1,128}"
    static let sincePattern = "-[0-9]{1,4}(s|min|m|h|d|w)|today|yesterday|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?"

    static let string: Value = .object(["type": "string"])
    static let integer: Value = .object(["type": "integer"])
    static let number: Value = .object(["type": "number"])
    static let boolean: Value = .object(["type": "boolean"])
    static let strings: Value = array(string)

    /// An array schema.
    static func array(_ items: Value) -> Value { .object(["type": "array", "items": items]) }

    /// An object schema whose properties are all required but the `optional` ones (absent when unknown).
    static func object(_ properties: [String: Value], optional: Set<String> = []) -> Value {
        .object(["type": "object", "properties": .object(properties),
                 "required": .array(properties.keys.filter { !optional.contains($0) }.sorted().map { .string($0) })])
    }

    /// A Codable value as an MCP JSON value.
    static func encode<T: Encodable>(_ value: T) throws -> Value {
        try JSONDecoder().decode(Value.self, from: JSONEncoder().encode(value))
    }

    /// One wrapper request: the verb, then `NAME=VALUE` for each of `names` the call gave, in that order.
    static func request(_ verb: String, _ words: [String: String], _ names: [String]) -> String {
        ([verb] + names.compactMap { name in words[name].map { "\(name)=\($0)" } }).joined(separator: " ")
    }

    /// A journal line (WrapperOutput.JournalEntry).
    static let journalEntry: Value = object(["timestamp": string, "host": string, "identifier": string, "pid": integer,
                                             "message": string], optional: ["pid"])

    static let unitArgument = ToolArgument("unit", .pattern(unitPattern, maxLength: 127, example: "nginx.service"), required: true,
                                           "A systemd unit name; it cannot start with '-'.")
    static let sinceArgument = ToolArgument("since", .pattern(sincePattern, maxLength: 19, example: "-1h"),
                                            "Start time: relative (-30min, -2h, -1d), today, yesterday or YYYY-MM-DD[THH:MM[:SS]].")
    static let priorityArgument = ToolArgument("priority", .choice(["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]),
                                               "This priority and more severe ones.")
}

import InfraDomain
import MCP

/// One argument of a diagnostic tool: its JSON Schema (for `inputSchema`) and its validation in the server,
/// before any SSH. mcp-wrapper checks the same value again on the target.
public struct ToolArgument: Sendable {
    /// What values the argument takes.
    public enum Kind: Sendable {
        /// A string matching an anchored pattern (JSON Schema `pattern`), at most `maxLength` characters.
        case pattern(String, maxLength: Int, example: String)
        /// An integer between the bounds.
        case integer(min: Int, max: Int)
        /// One of a fixed set of strings.
        case choice([String])
        /// Free text of the AI's (InfraDomain.FreeText: a length, no control characters).
        case text(FreeText, example: String)
        /// An object of NAME: "value" strings, each value at most `maxValueLength` characters.
        case stringMap(maxValueLength: Int)
        /// An absolute path of at most 256 characters from `A-Za-z0-9._/@+,-`, with no `.` or `..` component.
        case path(example: String)
    }

    /// The pattern of ``Kind/path(example:)`` (mcp-wrapper checks the same form, then the allowed roots).
    static let pathPattern = "/[A-Za-z0-9._/@+,-]{0,255}"

    public let name: String
    public let kind: Kind
    public let description: String
    public let required: Bool

    /// Creates an argument.
    public init(_ name: String, _ kind: Kind, required: Bool = false, _ description: String) {
        self.name = name
        self.kind = kind
        self.description = description
        self.required = required
    }

    /// The argument's JSON Schema.
    var schema: Value {
        switch kind {
        case .pattern(let pattern, let maxLength, let example):
            return .object(["type": "string", "pattern": .string("^(\(pattern))$"), "maxLength": .int(maxLength),
                            "description": .string("\(description) Example: \(example)")])
        case .integer(let min, let max):
            return .object(["type": "integer", "minimum": .int(min), "maximum": .int(max), "description": .string(description)])
        case .choice(let values):
            return .object(["type": "string", "enum": .array(values.map { .string($0) }), "description": .string(description)])
        case .text(let rule, let example):
            return .object(["type": "string", "minLength": .int(rule.length.lowerBound), "maxLength": .int(rule.length.upperBound),
                            "description": .string("\(description) Example: \(example)")])
        case .stringMap(let maxValueLength):
            return .object(["type": "object", "additionalProperties": .object(["type": "string", "maxLength": .int(maxValueLength)]),
                            "description": .string(description)])
        case .path(let example):
            return .object(["type": "string", "pattern": .string("^(\(Self.pathPattern))$"), "maxLength": 256,
                            "description": .string("\(description) An absolute path without . or .. components. Example: \(example)")])
        }
    }

    /// The value as the wrapper's `NAME=VALUE` word, or an error naming the argument and the allowed form.
    func validate(_ value: Value) throws(ToolCallError) -> String {
        switch kind {
        case .pattern(let pattern, let maxLength, let example):
            guard let text = value.stringValue else { throw .badArgument(name, "must be a string, for example \(example)") }
            guard text.count <= maxLength, text.wholeMatch(of: try! Regex("^(\(pattern))$")) != nil else {
                throw .badArgument(name, "has not the allowed form \(pattern) (at most \(maxLength) characters), for example \(example)")
            }
            return text
        case .integer(let min, let max):
            guard let number = value.intValue ?? value.doubleValue.flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil }),
                  number >= min, number <= max else {
                throw .badArgument(name, "must be a whole number from \(min) to \(max)")
            }
            return String(number)
        case .choice(let values):
            guard let text = value.stringValue, values.contains(text) else {
                throw .badArgument(name, "must be one of: \(values.joined(separator: ", "))")
            }
            return text
        case .text(let rule, _):
            guard let text = value.stringValue, rule.accepts(text) else { throw .badArgument(name, rule.rule) }
            return text
        case .stringMap:
            throw .badArgument(name, "must be an object of NAME: \"value\"")
        case .path(let example):
            guard let text = value.stringValue, text.count <= 256,
                  text.wholeMatch(of: try! Regex("^(\(Self.pathPattern))$")) != nil else {
                throw .badArgument(name, "must be an absolute path of letters, digits and ._/@+,- (at most 256 characters), for example \(example)")
            }
            guard !text.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
                throw .badArgument(name, "must not contain . or .. components, for example \(example)")
            }
            return text
        }
    }
}

extension ToolArgument {
    /// The value of a ``Kind/stringMap(maxValueLength:)`` argument, or an error naming the argument.
    func validateMap(_ value: Value) throws(ToolCallError) -> [String: String] {
        guard case .stringMap(let maxValueLength) = kind, case .object(let object) = value else {
            throw .badArgument(name, "must be an object of NAME: \"value\"")
        }
        var strings: [String: String] = [:]
        for (key, item) in object {
            guard let text = item.stringValue, text.count <= maxValueLength else {
                throw .badArgument(name, "'\(key)' must be a string of at most \(maxValueLength) characters")
            }
            strings[key] = text
        }
        return strings
    }

    /// Checks that `given` holds only `arguments` and every required one, and returns the scalar ones as
    /// validated words (map arguments are read with ``validateMap(_:)``).
    static func validate(_ given: [String: Value], _ arguments: [ToolArgument]) throws(ToolCallError) -> [String: String] {
        let names = arguments.map(\.name)
        for key in given.keys.sorted() where !names.contains(key) { throw .unknownArgument(key, allowed: names) }
        var words: [String: String] = [:]
        for argument in arguments {
            guard let value = given[argument.name] else {
                if argument.required { throw .missingArgument(argument.name) }
                continue
            }
            if case .stringMap = argument.kind { continue }
            words[argument.name] = try argument.validate(value)
        }
        return words
    }
}

/// Why a tool call was refused or failed before reaching any host.
public enum ToolCallError: Error, Sendable, CustomStringConvertible {
    case badArgument(String, String)
    case unknownArgument(String, allowed: [String])
    case missingArgument(String)
    case unknownHost(String)
    case notASingleHost(String)
    case unknownTool(String)
    /// A message that already names the argument and the fix.
    case invalid(String)

    public var description: String {
        switch self {
        case .badArgument(let name, let problem): "argument '\(name)' \(problem)"
        case .unknownArgument(let name, let allowed):
            allowed.isEmpty ? "unknown argument '\(name)'; this tool takes no arguments"
                            : "unknown argument '\(name)'; this tool takes: \(allowed.joined(separator: ", "))"
        case .missingArgument(let name): "argument '\(name)' is required"
        case .unknownHost(let problem): "argument 'host': \(problem). Call list_hosts for the inventory."
        case .notASingleHost(let expression): "argument 'host': '\(expression)' names a group or a list; this tool takes one inventory host name"
        case .unknownTool(let name): "no tool named '\(name)'; call tools/list"
        case .invalid(let message): message
        }
    }
}

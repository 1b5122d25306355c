/// Parses a `.env` file: `KEY=VALUE` lines, `#` comments, optional `export `, and values optionally
/// quoted with `"` or `'`. No variable expansion and no command substitution, ever.
public enum DotEnvParser {
    /// One assignment and the line it came from.
    public struct Assignment: Sendable, Equatable {
        public var key: String
        public var value: String
        public var line: Int
    }

    /// Parses the text of a `.env` file. `source` names the file in errors.
    public static func parse(_ text: String, source: String) throws(ConfigurationError) -> [Assignment] {
        var result: [Assignment] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            var body = Substring(trimmed)
            if body.hasPrefix("export ") { body = body.dropFirst("export ".count) }
            guard let equals = body.firstIndex(of: "=") else {
                throw ConfigurationError(.malformedLine, file: source, line: lineNumber, field: String(body.prefix(40)),
                                         problem: "expected KEY=VALUE",
                                         fix: "write the line as LINUX_MCP_NAME=value, or start it with # to comment it out")
            }
            let key = body[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }) else {
                throw ConfigurationError(.malformedLine, file: source, line: lineNumber, field: key.isEmpty ? "(empty key)" : key,
                                         problem: "a key is made of A-Z, 0-9 and _ only",
                                         fix: "write the line as LINUX_MCP_NAME=value")
            }
            var value = body[body.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if let quote = value.first, quote == "\"" || quote == "'" {
                guard value.count >= 2, value.last == quote else {
                    throw ConfigurationError(.malformedLine, file: source, line: lineNumber, field: key,
                                             problem: "the value opens a quote it does not close",
                                             fix: "close the quote at the end of the line")
                }
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                throw ConfigurationError(.malformedLine, file: source, line: lineNumber, field: key,
                                         problem: "the value contains control characters",
                                         fix: "remove them")
            }
            result.append(Assignment(key: key, value: value, line: lineNumber))
        }
        return result
    }
}

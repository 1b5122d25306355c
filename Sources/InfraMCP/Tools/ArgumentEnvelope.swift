import MCP

/// Bounds on a tool call's whole argument object, checked before any tool-specific validation: nesting
/// depth, number of keys, length of any one string, and total size. No tool takes anything near them;
/// a call past one is refused naming the bound, before its values are looked at one by one.
package enum ArgumentEnvelope {
    /// The deepest nesting of objects and arrays (the arguments object itself is depth 1).
    static let maxDepth = 4
    /// Keys and array elements, counted over the whole object.
    static let maxEntries = 64
    /// Characters in any one string, key or value.
    static let maxStringLength = 4096
    /// Characters of all strings and keys together.
    static let maxTotalLength = 16384

    /// Throws the first bound `arguments` passes.
    package static func check(_ arguments: [String: Value]) throws(ToolCallError) {
        var entries = 0, total = 0
        func visit(_ value: Value, depth: Int) throws(ToolCallError) {
            switch value {
            case .object(let object):
                guard depth <= maxDepth else { throw .invalid("arguments are nested deeper than \(maxDepth) levels; no tool takes that") }
                for (key, inner) in object {
                    try count(key)
                    try visit(inner, depth: depth + 1)
                }
            case .array(let array):
                guard depth <= maxDepth else { throw .invalid("arguments are nested deeper than \(maxDepth) levels; no tool takes that") }
                for inner in array {
                    try count(nil)
                    try visit(inner, depth: depth + 1)
                }
            case .string(let text):
                guard text.count <= maxStringLength else {
                    throw .invalid("an argument value is longer than \(maxStringLength) characters; no tool takes that")
                }
                total += text.count
            case .data(_, let bytes):
                total += bytes.count
            default:
                break
            }
            guard total <= maxTotalLength else { throw .invalid("the arguments are larger than \(maxTotalLength) characters in all; no tool takes that") }
        }
        func count(_ key: String?) throws(ToolCallError) {
            entries += 1
            guard entries <= maxEntries else { throw .invalid("the arguments have more than \(maxEntries) keys and elements; no tool takes that") }
            if let key {
                guard key.count <= 128 else { throw .invalid("an argument name is longer than 128 characters") }
                total += key.count
            }
        }
        try visit(.object(arguments), depth: 1)
    }
}

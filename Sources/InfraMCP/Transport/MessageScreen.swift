import Foundation
import MCP

/// The protocol boundary's checks on one incoming JSON-RPC message, before the MCP SDK sees it.
///
/// The SDK answers a malformed `tools/call` with `-32603 Internal error` and a Foundation message, and an
/// `id` of the wrong type with nothing at all. This screen answers those itself, as JSON-RPC 2.0 and MCP
/// say: `-32600` with `id: null` for a request whose id is neither a string nor an integer (§5), and
/// `-32602` naming the field for params of the wrong shape, and `-32700` with `id: null` for text that is
/// not JSON (the SDK would answer with a random id). Everything else passes unchanged. Pure: no I/O.
package enum MessageScreen {
    /// What to do with one message.
    package enum Verdict: Equatable {
        /// Hand it to the SDK (a request, which the server must answer).
        case request
        /// Hand it to the SDK (anything else: a notification, a response, a batch, invalid JSON).
        case pass
        /// Do not hand it on; send this response instead.
        case answer(Data)
    }

    /// Checks one message (a line without its newline).
    package static func screen(_ message: [UInt8]) -> Verdict {
        guard let value = try? JSONDecoder().decode(Value.self, from: Data(message)) else {
            return .answer(error(id: .null, code: -32700, message: "parse error: the message is not valid JSON"))
        }
        let object: [String: Value]
        switch value {
        case .object(let fields): object = fields
        case .array: return .pass   // a batch: the SDK answers each member
        default: return .answer(error(id: .null, code: -32600, message: "invalid request: a message must be a JSON object"))
        }
        guard let method = object["method"]?.stringValue else { return .pass }   // a response to one of ours
        var id: Value = .null
        if let given = object["id"] {
            switch given {
            case .string, .int: id = given
            default:
                return .answer(error(id: .null, code: -32600, message: "invalid request: 'id' must be a string or an integer"))
            }
        }
        guard object["id"] != nil else { return .pass }   // a notification: never answered
        switch method {
        case "tools/call":
            guard case .object(let params)? = object["params"] else {
                return .answer(error(id: id, code: -32602, message: "invalid params: 'params' must be an object with 'name' and 'arguments'"))
            }
            guard case .string? = params["name"] else {
                return .answer(error(id: id, code: -32602, message: "invalid params: 'params.name' must be a string, the tool's name (see tools/list)"))
            }
            if let arguments = params["arguments"], case .object = arguments {} else if params["arguments"] != nil {
                return .answer(error(id: id, code: -32602, message: "invalid params: 'params.arguments' must be an object of argument names to values"))
            }
        case "resources/read":
            guard case .object(let params)? = object["params"], case .string? = params["uri"] else {
                return .answer(error(id: id, code: -32602, message: "invalid params: 'params.uri' must be a string (see resources/list)"))
            }
        default:
            break
        }
        return .request
    }

    /// True when an outgoing message is a response (it has an `id` and no `method`).
    package static func isResponse(_ message: Data) -> Bool {
        struct Envelope: Decodable {
            var id: Value?
            var method: String?
        }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: message) else { return false }
        return envelope.id != nil && envelope.method == nil
    }

    /// The answer to a message that passed `limit` bytes: `-32600` naming the limit, with the request's id
    /// when its first bytes show one, else `null`.
    static func tooLarge(prefix: [UInt8], limit: Int, setting: String) -> Data {
        error(id: requestID(inPrefix: prefix), code: -32600,
              message: "invalid request: the message is larger than \(limit) bytes (\(setting)); it was not read, and the rest of its line was skipped")
    }

    /// The `id` of a request from the first bytes of its text, when it stands at the top level before
    /// anything larger than the limit; `null` when it cannot be told.
    static func requestID(inPrefix prefix: [UInt8]) -> Value {
        var depth = 0
        var index = 0
        var expectKey = false
        var lastKey: String?
        func readString() -> String? {
            // At an opening quote: returns the string's raw text (escapes kept), or nil when cut off.
            var end = index + 1
            while end < prefix.count {
                if prefix[end] == UInt8(ascii: "\\") { end += 2; continue }
                if prefix[end] == UInt8(ascii: "\"") {
                    let text = String(decoding: prefix[(index + 1)..<end], as: UTF8.self)
                    index = end + 1
                    return text
                }
                end += 1
            }
            return nil
        }
        while index < prefix.count {
            let byte = prefix[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = byte == UInt8(ascii: "{") && depth == 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                index += 1
            case UInt8(ascii: ","):
                if depth == 1 { expectKey = true }
                index += 1
            case UInt8(ascii: ":"):
                index += 1
                if depth == 1, lastKey == "id" {
                    while index < prefix.count, prefix[index] == 0x20 || prefix[index] == 0x09 { index += 1 }
                    guard index < prefix.count else { return .null }
                    if prefix[index] == UInt8(ascii: "\"") {
                        guard let text = readString(), !text.contains("\\"), text.count <= 256 else { return .null }
                        return .string(text)
                    }
                    var end = index
                    while end < prefix.count, (prefix[end] >= 0x30 && prefix[end] <= 0x39) || prefix[end] == UInt8(ascii: "-") { end += 1 }
                    guard end < prefix.count, [UInt8(ascii: ","), UInt8(ascii: "}"), 0x20].contains(prefix[end]),
                          let number = Int(String(decoding: prefix[index..<end], as: UTF8.self)) else { return .null }
                    return .int(number)
                }
                lastKey = nil
            case UInt8(ascii: "\""):
                guard let text = readString() else { return .null }
                if depth == 1 && expectKey {
                    lastKey = text
                    expectKey = false
                }
            default:
                index += 1
            }
        }
        return .null
    }

    /// A JSON-RPC error response.
    static func error(id: Value, code: Int, message: String) -> Data {
        let response: Value = .object(["jsonrpc": .string("2.0"), "id": id,
                                       "error": .object(["code": .int(code), "message": .string(message)])])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(response)) ?? Data(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}"#.utf8)
    }
}

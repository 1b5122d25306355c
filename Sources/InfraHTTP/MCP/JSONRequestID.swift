import Foundation

/// A JSON-RPC request id as the client sent it: a string or an integer.
enum JSONRequestID: Sendable, Equatable {
    case string(String)
    case number(Int)

    /// The id of `body` when it is one JSON-RPC request with an id, else nil.
    static func of(_ body: Data) -> JSONRequestID? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], object["method"] is String else { return nil }
        if let text = object["id"] as? String { return .string(text) }
        if let number = object["id"] as? Int { return .number(number) }
        return nil
    }

    /// The progress token of a request (`params._meta.progressToken`), as comparable text, or nil.
    static func progressToken(ofRequest body: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let params = object["params"] as? [String: Any], let meta = params["_meta"] as? [String: Any] else { return nil }
        return token(meta["progressToken"])
    }

    /// The progress token of a `notifications/progress` message, as comparable text, or nil for anything else.
    static func progressToken(ofNotification body: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              object["method"] as? String == "notifications/progress", object["id"] == nil,
              let params = object["params"] as? [String: Any] else { return nil }
        return token(params["progressToken"])
    }

    /// A progress token (a string or an integer) as text that tells the two apart.
    static func token(_ value: Any?) -> String? {
        if let text = value as? String { return "s:" + text }
        if let number = value as? Int { return "n:\(number)" }
        return nil
    }

    /// Whether `body` is an initialize request (it opens a session).
    static func isInitialize(_ body: Data) -> Bool {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["method"] as? String == "initialize"
    }

    /// The id as text that tells a string from a number (the session table's key).
    var key: String {
        switch self {
        case .string(let text): "s:" + text
        case .number(let number): "n:\(number)"
        }
    }

    var json: Any {
        switch self {
        case .string(let text): text
        case .number(let number): number
        }
    }
}

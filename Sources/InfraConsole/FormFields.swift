import Foundation

/// The fields of an `application/x-www-form-urlencoded` body or a query string, each checked before use:
/// UTF-8, bounded, and without control characters unless the field is a multi-line one (a pasted signature).
struct FormFields: Sendable {
    private var values: [String: String] = [:]

    /// Why a form was refused; the text names the field and the fix.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses `text` (`a=1&b=two+words`); a name given twice keeps its first value.
    init(_ text: String) throws(Problem) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else {
                throw Problem(description: "the form is not valid URL encoding (UTF-8); reload the page and send it again")
            }
            if values[name] == nil { values[name] = value }
        }
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The value of `name`, trimmed of surrounding spaces; nil when absent or empty.
    /// - Parameters:
    ///   - limit: the most characters accepted.
    ///   - multiline: whether line ends (CR, LF) are allowed; no other control character ever is.
    func value(_ name: String, limit: Int = 500, multiline: Bool = false) throws(Problem) -> String? {
        guard let raw = values[name] else { return nil }
        let control = raw.unicodeScalars.contains {
            ($0.properties.generalCategory == .control || $0.properties.generalCategory == .format)
                && !(multiline && ($0 == "\n" || $0 == "\r"))
        }
        guard !control else {
            throw Problem(description: "field '\(name)': control characters are not accepted\(multiline ? "" : " (one line only)"); remove them")
        }
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= limit else { throw Problem(description: "field '\(name)': longer than \(limit) characters; shorten it") }
        return text.isEmpty ? nil : text
    }

    /// The value of `name`, which must match the regular expression `form` as a whole; nil when absent.
    func value(_ name: String, matching form: String, hint: String) throws(Problem) -> String? {
        guard let text = try value(name, limit: 200) else { return nil }
        guard text.wholeMatch(of: try! Regex(form)) != nil else { throw Problem(description: "field '\(name)': \(hint)") }
        return text
    }
}

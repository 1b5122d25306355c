extension WrapperOutput {
    /// The lines of `log-tail` or `container-logs`, without the trailing empty line.
    public static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// One match of `log-search` (grep -n).
    public struct LogMatch: Codable, Sendable, Equatable {
        public var line: Int
        public var text: String
    }

    /// Reads `NUMBER:TEXT` lines.
    public static func logMatches(_ text: String) -> [LogMatch] {
        text.split(separator: "\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":"), let number = Int(line[..<colon]) else { return nil }
            return LogMatch(line: number, text: String(line[line.index(after: colon)...]))
        }
    }

    /// A summary of error-level journal entries: how many, from whom, and the most frequent messages.
    public struct ErrorAnalysis: Codable, Sendable, Equatable {
        public var total: Int
        public var first: String?
        public var last: String?
        public var byIdentifier: [Count]
        /// Messages with their numbers replaced by `#`, most frequent first (at most 10).
        public var topMessages: [Pattern]

        /// How many entries one program logged.
        public struct Count: Codable, Sendable, Equatable {
            public var identifier: String
            public var count: Int
        }

        /// One recurring message shape.
        public struct Pattern: Codable, Sendable, Equatable {
            public var identifier: String
            public var pattern: String
            public var count: Int
            public var example: String
        }
    }

    /// Groups journal lines by program and by message shape (digits folded), most frequent first.
    public static func errorAnalysis(_ text: String) -> ErrorAnalysis {
        let entries = journalEntries(text)
        var perIdentifier: [String: Int] = [:]
        var perPattern: [String: (identifier: String, pattern: String, count: Int, example: String, order: Int)] = [:]
        for (order, entry) in entries.enumerated() {
            perIdentifier[entry.identifier, default: 0] += 1
            let pattern = fold(entry.message)
            let key = entry.identifier + "\u{0}" + pattern
            if let known = perPattern[key] {
                perPattern[key]!.count = known.count + 1
            } else {
                perPattern[key] = (entry.identifier, pattern, 1, entry.message, order)
            }
        }
        let counts = perIdentifier.map { ErrorAnalysis.Count(identifier: $0.key, count: $0.value) }
            .sorted { ($0.count, $1.identifier) > ($1.count, $0.identifier) }
        let patterns = perPattern.values.sorted { ($0.count, $1.order) > ($1.count, $0.order) }.prefix(10)
            .map { ErrorAnalysis.Pattern(identifier: $0.identifier, pattern: $0.pattern, count: $0.count, example: $0.example) }
        return ErrorAnalysis(total: entries.count, first: entries.first?.timestamp, last: entries.last?.timestamp,
                             byIdentifier: counts, topMessages: Array(patterns))
    }

    /// The message with every run of digits replaced by `#`.
    static func fold(_ message: String) -> String {
        var folded = ""
        var inNumber = false
        for character in message {
            if character.isASCII && character.isNumber {
                if !inNumber { folded.append("#") }
                inNumber = true
            } else {
                folded.append(character)
                inNumber = false
            }
        }
        return folded
    }
}

import Foundation

/// The fenced code blocks of a markdown document, with the marks that tell the quickstart test what to do
/// with each. A mark is an HTML comment on the line right before a fence:
///
///     <!-- quickstart-test: human "edit the inventory" -->   a person does this; the test does it its own way
///     <!-- quickstart-test: skip (why) -->                   not run, for the reason given
///     <!-- quickstart-test: as alice -->                     run word for word as the Unix account alice
///     <!-- quickstart-test: inventory -->                    the inventory the "edit" step writes (YAML)
///     <!-- quickstart-test: output of the block above -->    what the block before prints (a sample)
///
/// Every unmarked `sh`/`bash` block runs word for word as root; other languages are only read.
struct QuickstartDocument {
    /// What the mark before a block says.
    enum Mark: Equatable {
        case none
        case human(String)
        case skip(String)
        case runAs(String)
        case inventory
        case output
    }

    /// One fenced block.
    struct Block {
        /// The 1-based line of the opening fence.
        let line: Int
        /// The fence's language (`sh`, `yaml`, … or empty).
        let language: String
        /// The lines between the fences, each ending in a newline.
        let body: String
        let mark: Mark

        /// True for a shell block the test runs (as root or as an account).
        var runs: Bool {
            guard ["sh", "bash"].contains(language) else { return false }
            switch mark {
            case .none, .runAs: return true
            default: return false
            }
        }
    }

    /// A document that cannot be read as the test needs it.
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    let path: String
    let blocks: [Block]

    /// Reads `path` (relative to the repository root in messages).
    init(path: String) throws {
        self.path = path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var blocks: [Block] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            guard line.hasPrefix("```") else {
                if line.contains("quickstart-test:"), !(lines.indices.contains(index + 1) && lines[index + 1].hasPrefix("```")) {
                    throw Malformed(description: "\(path):\(index + 1): a quickstart-test mark must be the line right before a fence")
                }
                index += 1
                continue
            }
            let language = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
            let mark = index > 0 ? try Self.mark(lines[index - 1], line: index, path: path) : .none
            var body = ""
            var end = index + 1
            while end < lines.count && !lines[end].hasPrefix("```") {
                body += lines[end] + "\n"
                end += 1
            }
            guard end < lines.count else { throw Malformed(description: "\(path):\(index + 1): the fence is never closed") }
            blocks.append(Block(line: index + 1, language: language, body: body, mark: mark))
            index = end + 1
        }
        self.blocks = blocks
    }

    /// The mark a line gives the fence after it (`.none` when the line is no mark).
    static func mark(_ text: String, line: Int, path: String) throws -> Mark {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let prefix = "<!-- quickstart-test:", suffix = "-->"
        guard trimmed.hasPrefix(prefix) else { return .none }
        guard trimmed.hasSuffix(suffix) else { throw Malformed(description: "\(path):\(line): the mark does not end with -->") }
        let words = trimmed.dropFirst(prefix.count).dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
        func quoted(_ rest: Substring, _ open: Character, _ close: Character) -> String? {
            let rest = rest.trimmingCharacters(in: .whitespaces)
            guard rest.count >= 2, rest.first == open, rest.last == close else { return nil }
            return String(rest.dropFirst().dropLast())
        }
        if words.hasPrefix("human "), let label = quoted(words.dropFirst(6), "\"", "\"") { return .human(label) }
        if words.hasPrefix("skip "), let reason = quoted(words.dropFirst(5), "(", ")"), !reason.isEmpty { return .skip(reason) }
        if words.hasPrefix("as ") {
            let user = words.dropFirst(3).trimmingCharacters(in: .whitespaces)
            if user.range(of: "^[a-z_][a-z0-9_-]*$", options: .regularExpression) != nil { return .runAs(user) }
        }
        if words == "inventory" { return .inventory }
        if words == "output of the block above" { return .output }
        throw Malformed(description: "\(path):\(line): unknown mark '\(words)' (human \"…\", skip (…), as USER, inventory, output of the block above)")
    }

    /// The one block with this mark.
    func block(_ mark: Mark) throws -> Block {
        let found = blocks.filter { $0.mark == mark }
        guard found.count == 1 else { throw Malformed(description: "\(path): \(found.count) blocks marked \(mark), expected one") }
        return found[0]
    }

    /// The blocks from the line of the heading `title` (a line starting with `title`) to the next heading of the same level.
    func blocks(inSection title: String) throws -> [Block] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(title) }) else {
            throw Malformed(description: "\(path): no heading '\(title)'")
        }
        let level = title.prefix { $0 == "#" }
        let end = lines[(start + 1)...].firstIndex { $0.hasPrefix(level + " ") } ?? lines.count
        return blocks.filter { $0.line > start && $0.line <= end }
    }
}

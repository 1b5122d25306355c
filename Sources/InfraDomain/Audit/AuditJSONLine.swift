import Foundation

/// One audit row as a line of JSON, the export format of `audit export --jsonl` and the review console: every
/// stored field with its hashes (so the chain verifies elsewhere), keys sorted, and every character
/// ``TerminalText`` escapes written as a JSON escape, so the line is safe on a terminal.
public enum AuditJSONLine {
    /// The row's line, without its newline.
    public static func line(_ record: AuditChain.Record) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return TerminalText.jsonEscaped(String(decoding: try encoder.encode(record), as: UTF8.self))
    }
}

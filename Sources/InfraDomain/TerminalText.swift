/// Text that a person reads in a terminal (the CLI's review, the audit log's tail and search, later the
/// console), made safe to print: whatever a database row, an AI or an MCP client wrote cannot move the
/// cursor, recolour, clear or redraw the screen, reorder the line, or start a line that looks like another
/// field. The one rule, used by every reader-facing printer.
///
/// Escaped: C0 controls (newline and tab included), DEL, C1 controls, and the Unicode format characters that
/// reorder or hide text (bidirectional overrides and isolates, zero-width characters, the BOM). Each
/// becomes a visible `\xHH` or `\u{HHHH}`; a backslash becomes `\\`, so an escape cannot be imitated.
public enum TerminalText {
    /// `text` as one printable line.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            switch value {
            case 0x5C:
                out += "\\\\"
            case 0x00...0x1F, 0x7F...0x9F:
                out += "\\x" + hex(value, width: 2)
            case 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2069, 0xFEFF, 0xFFF9...0xFFFB:
                out += "\\u{" + hex(value, width: 4) + "}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Someone else's text (the AI's rationale, an MCP client's raw input) as lines that each start with
    /// `marker`: split at line ends, every line escaped, so no line of it can pass for a line of the review.
    public static func marked(_ text: String, marker: String) -> [String] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        return lines.map { marker + escaped(String($0)) }
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: false)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

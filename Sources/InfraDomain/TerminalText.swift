/// Text that a person reads in a terminal (the CLI's review, the audit log's tail and search, later the
/// console), made safe to print: whatever a database row, an AI or an MCP client wrote cannot move the
/// cursor, recolour, clear or redraw the screen, reorder the line, or start a line that looks like another
/// field. The one rule, used by every reader-facing printer.
///
/// Escaped: C0 controls (newline and tab included), DEL, C1 controls, line separators, and the Unicode
/// characters that reorder, hide or blank out text (see ``isUnsafe(_:)``). Each
/// becomes a visible `\xHH` or `\u{HHHH}`; a backslash becomes `\\`, so an escape cannot be imitated.
public enum TerminalText {
    /// `text` as one printable line.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0x5C {
                out += "\\\\"
            } else if !isUnsafe(value) {
                out.unicodeScalars.append(scalar)
            } else if value <= 0x9F {
                out += "\\x" + hex(value, width: 2)
            } else {
                out += "\\u{" + hex(value, width: 4) + "}"
            }
        }
        return out
    }

    /// JSON text (a line of `--jsonl` output) made safe to print with the same rule, without changing what it
    /// means: every character ``escaped(_:)`` would escape becomes a JSON `\uHHHH` escape, so a JSON reader
    /// gets exactly the same values (and the same hashes) back. Such characters only occur inside JSON strings.
    public static func jsonEscaped(_ json: String) -> String {
        var out = ""
        out.reserveCapacity(json.utf8.count)
        for scalar in json.unicodeScalars {
            if isUnsafe(scalar.value) {
                for unit in String(scalar).utf16 { out += "\\u" + hex(UInt32(unit), width: 4) }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The one list: C0 controls, DEL, C1 controls, line and paragraph separators, and the characters that
    /// reorder, hide or blank out text (bidirectional marks, overrides and isolates, zero-width and invisible
    /// format characters, the soft hyphen, Hangul fillers, the BOM, interlinear annotation, tag characters).
    static func isUnsafe(_ value: UInt32) -> Bool {
        // Every format character and every code point Unicode says to render as nothing (variation selectors,
        // fillers, invisible operators...), besides the explicit list below.
        if let scalar = Unicode.Scalar(value), value > 0x7F,
           scalar.properties.isDefaultIgnorableCodePoint || scalar.properties.generalCategory == .format {
            return true
        }
        return switch value {
        case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x061C, 0x115F, 0x1160, 0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F,
             0x3164, 0xFEFF, 0xFFA0, 0xFFF9...0xFFFB, 0xE0000...0xE007F: true
        default: false
        }
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

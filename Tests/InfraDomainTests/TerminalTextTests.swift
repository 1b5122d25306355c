import Foundation
import InfraDomain
import Testing

@Suite("Terminal text: what a person reads cannot redraw the screen")
struct TerminalTextTests {
    @Test("Controls, DEL, C1 and reordering characters become visible escapes; a backslash cannot imitate one")
    func escapes() {
        #expect(TerminalText.escaped("ok\u{1b}[2J\u{1b}]0;title\u{07}") == "ok\\x1b[2J\\x1b]0;title\\x07")
        #expect(TerminalText.escaped("a\nb\rc\td") == "a\\x0ab\\x0dc\\x09d")
        #expect(TerminalText.escaped("\u{7f}\u{9b}31m") == "\\x7f\\x9b31m")
        #expect(TerminalText.escaped("abc\u{202e}fed") == "abc\\u{202e}fed")
        #expect(TerminalText.escaped("zero\u{200b}width\u{feff}") == "zero\\u{200b}width\\u{feff}")
        #expect(TerminalText.escaped("\\x1b") == "\\\\x1b")
        #expect(TerminalText.escaped("plain café, 日本") == "plain café, 日本")
    }

    @Test("Marked text: every line starts with the marker, none can wrap out of it")
    func marked() {
        let lines = TerminalText.marked("restart it\ndigest:        sha256:forged\r\n\u{1b}[1A\u{1b}[2Klow", marker: "AI| ")
        #expect(lines == ["AI| restart it", "AI| digest:        sha256:forged", "AI| \\x1b[1A\\x1b[2Klow"])
        #expect(lines.allSatisfy { $0.hasPrefix("AI| ") && !$0.contains("\u{1b}") && !$0.contains("\n") })
    }

    @Test("JSON lines: the same characters become JSON escapes, so the values (and hashes) read back unchanged")
    func jsonLines() throws {
        let value = "a\u{1b}[31m\u{7f}\u{9b}2J\u{202e}b\\\"c"
        let json = String(decoding: try JSONEncoder().encode(["k": value]), as: UTF8.self)
        let safe = TerminalText.jsonEscaped(json)
        #expect(!safe.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) || $0 == "\u{202e}" }, "\(safe)")
        #expect(safe.contains("\\u007f") && safe.contains("\\u009b") && safe.contains("\\u202e"), "\(safe)")
        #expect(try JSONDecoder().decode([String: String].self, from: Data(safe.utf8)) == ["k": value])
    }
}

@Suite("Terminal text: invisible and reordering characters beyond the controls")
struct TerminalTextInvisibleTests {
    @Test("Separators, soft hyphen, Arabic letter mark, Hangul fillers and tag characters are escaped; JSON stays JSON")
    func invisibles() throws {
        #expect(TerminalText.escaped("a\u{2028}b\u{2029}c\u{ad}d\u{61c}e\u{3164}f\u{e0041}") == "a\\u{2028}b\\u{2029}c\\u{00ad}d\\u{061c}e\\u{3164}f\\u{e0041}")
        let json = "{\"v\":\"x\u{e0041}\u{2028}\"}"
        let escaped = TerminalText.jsonEscaped(json)
        #expect(escaped == "{\"v\":\"x\\udb40\\udc41\\u2028\"}")
        let decoded = try JSONSerialization.jsonObject(with: Data(escaped.utf8)) as? [String: String]
        #expect(decoded?["v"] == "x\u{e0041}\u{2028}")
    }
}

@Suite("Terminal text: whatever Unicode renders as nothing")
struct TerminalTextIgnorableTests {
    @Test("Variation selectors, the combining grapheme joiner, Khmer inherent vowels, Arabic number signs and braille blank are escaped")
    func ignorables() {
        for scalar: Unicode.Scalar in ["\u{fe0f}", "\u{e0100}", "\u{34f}", "\u{17b4}", "\u{600}", "\u{1d173}"] {
            #expect(!TerminalText.escaped("a\(scalar)b").unicodeScalars.contains(scalar), "U+\(String(scalar.value, radix: 16)) passed")
        }
        #expect(TerminalText.escaped("é café ß 日本 😀") == "é café ß 日本 😀")
    }
}

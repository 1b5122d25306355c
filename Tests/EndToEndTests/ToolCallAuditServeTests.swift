import Foundation
import InfraTestSupport
import Testing

/// Issue 17, finding 4: every tools/call recorded the raw `host`, `action` and `id` arguments in the audit
/// row's columns, before validation, and `audit tail`/`audit search` printed them raw, so the AI could put
/// terminal control sequences into what a human reads. Now the columns hold only validated values and the
/// client's raw input is kept escaped under `raw.*`; the readers print every field escaped.
@Suite("Tool-call audit rows: validated columns, raw input escaped and marked (real binary, real MCP client)", endToEnd)
struct ToolCallAuditServeTests {
    /// A character a terminal would act on: C0 controls (line ends aside), DEL, C1 controls, reordering marks.
    static func unsafe(_ scalar: Unicode.Scalar, allowingLineEnds: Bool) -> Bool {
        switch scalar.value {
        case 0x0A where allowingLineEnds: false
        case 0x00...0x1F, 0x7F...0x9F, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2069, 0xFEFF: true
        default: false
        }
    }

    @Test("Control sequences, newlines and a bidi override in host, action, id and tool name: refused as before, columns empty or validated, raw input escaped under raw.*, tail and search print no control byte")
    func controlSequencesStayOutOfTheColumns() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            let rationale = "the unit has been failing since the last upgrade"
            // (tool, arguments, words of the refusal)
            let cases: [(String, [String: Any], String)] = [
                ("get_memory_info", ["host": "loop\u{1b}[31mback\n\u{202e}x"], "argument 'host'"),
                ("propose_pra_action", ["host": "\u{1b}]0;pwned\u{07}", "action": "restart_unbound", "rationale": rationale], "argument 'host'"),
                ("propose_pra_action", ["host": "loopback", "action": "restart\u{1b}[2J\u{202e}", "rationale": rationale], "argument 'action'"),
                ("propose_pra_action", ["host": "loopback", "action": "restart_service", "parameters": ["unit": "x\u{1b}[1A.service"],
                                        "rationale": rationale], "unit"),
                ("get_pra_action", ["id": "abcd\u{1b}[1A\r\nseq  kind  approved"], "argument 'id'"),
                ("cancel_pra_action", ["id": "\u{202e}abcd", "reason": "no longer needed"], "argument 'id'"),
                ("no_such_tool\u{1b}[31m", ["host": "x\u{9b}2J"], "no tool named"),
                ("get_pra_action", ["id": "abcd1234"], "no action with id"),
            ]
            let results = try await AuditWitnessServeTests.serve(target, calls: cases.map { [$0.0, $0.1] as [Any] },
                                                                 stderr: target.stateDirectory + "/serve.stderr")
            try #require(results.count == cases.count, "\(results)")
            for (index, expected) in cases.enumerated() {
                #expect(results[index]["isError"] as? Bool == true && (results[index]["text"] as? String ?? "").contains(expected.2),
                        "call \(index): \(results[index])")
            }

            // The rows, as stored (export decodes nothing: its JSON reads back the stored values).
            let export = try await FaultInjectionTests.cli(target, ["audit", "export", "--jsonl"])
            try #require(export.status == 0, "\(export.stderr)")
            let rows = try export.stdout.split(separator: "\n").map { try FaultInjectionTests.json(String($0)) }.filter { $0["kind"] as? String == "tool" }
            try #require(rows.count == cases.count, "\(rows)")
            let columns = rows.map { [$0["host"] as? String ?? "?", $0["action"] as? String ?? "?", $0["proposalID"] as? String ?? "?"] }
            #expect(columns == [["", "", ""], ["", "", ""], ["loopback", "", ""], ["loopback", "restart_service", ""], ["", "", ""],
                                ["", "", ""], ["", "", ""], ["", "", ""]], "\(columns)")
            let details = try rows.map { row in
                try #require(try JSONSerialization.jsonObject(with: Data((row["detail"] as? String ?? "").utf8)) as? [String: String])
            }
            for (index, detail) in details.enumerated() {
                let raw = try #require(detail["raw.arguments"], "row \(index): \(detail)")
                #expect(!detail.values.joined().unicodeScalars.contains { Self.unsafe($0, allowingLineEnds: false) }, "row \(index): \(detail)")
                let arguments = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any], "row \(index): \(raw)")
                #expect(arguments.keys.sorted() == cases[index].1.keys.sorted(), "row \(index): \(raw)")
                #expect(raw.contains("\\u001b") || raw.contains("\\u202e") || raw.contains("\\u009b") || index == 7, "row \(index): \(raw)")
                #expect(detail["arguments"] == nil, "row \(index) still has the unmarked arguments: \(detail)")
            }
            #expect(details[0]["raw.host"] == "loop\\x1b[31mback\\x0a\\u{202e}x" && details[0]["tool"] == "get_memory_info", "\(details[0])")
            #expect(details[1]["raw.host"] == "\\x1b]0;pwned\\x07" && details[1]["raw.action"] == "restart_unbound", "\(details[1])")
            #expect(details[2]["raw.host"] == nil && details[2]["raw.action"] == "restart\\x1b[2J\\u{202e}", "\(details[2])")
            #expect(details[3]["raw.host"] == nil && details[3]["raw.action"] == nil && details[3]["raw.arguments"]?.contains("x\\u001b[1A.service") == true,
                    "\(details[3])")
            #expect(details[4]["raw.id"] == "abcd\\x1b[1A\\x0d\\x0aseq  kind  approved", "\(details[4])")
            #expect(details[5]["raw.id"] == "\\u{202e}abcd", "\(details[5])")
            #expect(details[6]["raw.tool"] == "no_such_tool\\x1b[31m" && details[6]["tool"] == nil && details[6]["raw.host"] == "x\\x9b2J", "\(details[6])")
            #expect(details[7]["raw.id"] == "abcd1234", "a well-formed id that names no stored proposal is not validated: \(details[7])")

            // What a human reads: no byte below 0x20 but line ends, no ESC, no C1, no reordering mark; one line per row.
            for command in [["audit", "tail", "-n", "100"], ["audit", "search", "--kind", "tool"], ["audit", "search", "--kind", "tool", "--jsonl"]] {
                let shown = try await FaultInjectionTests.cli(target, command)
                #expect(shown.status == 0, "\(command): \(shown.stderr)")
                #expect(!shown.stdout.unicodeScalars.contains { Self.unsafe($0, allowingLineEnds: true) }, "\(command): \(shown.stdout.debugDescription)")
                let lines = shown.stdout.split(separator: "\n")
                #expect(lines.filter { $0.contains("raw.arguments") }.count == cases.count, "\(command): \(shown.stdout)")
                #expect(!lines.contains { $0.hasPrefix("seq  kind") }, "a forged line: \(shown.stdout)")
            }
        }
    }
}

import Foundation
@testable import InfraMCP
import MCP
import Testing

@Suite("Protocol boundary: line splitting, size bound, JSON-RPC error answers (pure)")
struct ProtocolBoundaryTests {
    @Test("Messages split on newlines across any chunking, a trailing CR removed, empty lines skipped")
    func splitsAcrossChunks() {
        let text = Array("{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}\n".utf8)
        for size in [1, 2, 3, 7, text.count] {
            var reader = LineReader(limit: 64)
            var messages: [String] = []
            var index = 0
            while index < text.count {
                for event in reader.feed(Array(text[index..<min(index + size, text.count)])) {
                    if case .message(let bytes) = event { messages.append(String(decoding: bytes, as: UTF8.self)) }
                }
                index += size
            }
            #expect(messages == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"], "chunk size \(size)")
            #expect(reader.bufferedCount == 0)
        }
    }

    @Test("A message over the limit is reported once, as soon as it passes, and the rest of its line is dropped; the next line is read")
    func oversizedAsSoonAsItPasses() {
        var reader = LineReader(limit: 100)
        #expect(reader.feed(Array(repeating: UInt8(ascii: "x"), count: 60)).isEmpty)
        let passed = reader.feed(Array(repeating: UInt8(ascii: "x"), count: 60))
        #expect(passed.count == 1)
        if case .oversized(let prefix)? = passed.first { #expect(prefix.count == 100) } else { Issue.record("no oversized event: \(passed)") }
        // Megabytes more of the same line: nothing reported, nothing held.
        for _ in 0..<100 { #expect(reader.feed(Array(repeating: UInt8(ascii: "y"), count: 65536)).isEmpty) }
        #expect(reader.bufferedCount == 0)
        #expect(reader.feed(Array("zz\n{\"ok\":1}\n".utf8)) == [.message(Array("{\"ok\":1}".utf8))])
    }

    @Test("A message of exactly the limit passes")
    func exactlyTheLimit() {
        var reader = LineReader(limit: 10)
        #expect(reader.feed(Array("0123456789\n".utf8)) == [.message(Array("0123456789".utf8))])
        #expect(reader.feed(Array("0123456789A\n".utf8)).count == 1)
    }

    func answer(_ text: String) -> [String: Value]? {
        guard case .answer(let data) = MessageScreen.screen(Array(text.utf8)) else { return nil }
        return try? JSONDecoder().decode([String: Value].self, from: data)
    }

    func code(_ response: [String: Value]?) -> Int? {
        guard case .object(let error)? = response?["error"] else { return nil }
        return error["code"]?.intValue
    }

    @Test("tools/call without name, with non-object arguments, or without params: -32602 naming the field, with the request's id")
    func malformedToolCall() {
        let noName = answer(#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{}}}"#)
        #expect(code(noName) == -32602 && noName?["id"] == .int(7))
        #expect("\(noName?["error"] ?? .null)".contains("params.name"))
        let badArguments = answer(#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"list_hosts","arguments":[1]}}"#)
        #expect(code(badArguments) == -32602 && badArguments?["id"] == .string("x"))
        #expect("\(badArguments?["error"] ?? .null)".contains("params.arguments"))
        #expect(code(answer(#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#)) == -32602)
        #expect(code(answer(#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":5}}"#)) == -32602)
    }

    @Test("A request whose id is an object, array, boolean or fraction: -32600 with id null")
    func invalidIDType() {
        for id in [#"{"a":1}"#, "[1]", "true", "1.5"] {
            let response = answer(#"{"jsonrpc":"2.0","id":\#(id),"method":"ping"}"#)
            #expect(code(response) == -32600 && response?["id"] == .null, "id \(id)")
        }
    }

    @Test("Well-formed requests pass as requests; notifications, responses, batches and invalid JSON pass as they are")
    func passes() {
        for text in [#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_hosts","arguments":{}}}"#,
                     #"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"list_hosts"}}"#,
                     #"{"jsonrpc":"2.0","id":2,"method":"ping"}"#] {
            #expect(MessageScreen.screen(Array(text.utf8)) == .request, "\(text)")
        }
        for text in [#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, #"{"jsonrpc":"2.0","id":1,"result":{}}"#,
                     #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#] {
            #expect(MessageScreen.screen(Array(text.utf8)) == .pass, "\(text)")
        }
        let notJSON = answer("not json")
        #expect(code(notJSON) == -32700 && notJSON?["id"] == .null)
        #expect(code(answer(String(repeating: "[", count: 100_000))) == -32700)
        #expect(code(answer("42")) == -32600)
        #expect(MessageScreen.isResponse(Data(#"{"jsonrpc":"2.0","id":1,"result":{}}"#.utf8)))
        #expect(!MessageScreen.isResponse(Data(#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#.utf8)))
    }

    @Test("The id of an oversized request is read from its first bytes when it stands at the top level; else null")
    func idFromPrefix() {
        #expect(MessageScreen.requestID(inPrefix: Array(#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"x":"yyyy"#.utf8)) == .int(42))
        #expect(MessageScreen.requestID(inPrefix: Array(#"{"id": "req-1", "params":{"#.utf8)) == .string("req-1"))
        #expect(MessageScreen.requestID(inPrefix: Array(#"{"params":{"id":5,"x":"yyyy"#.utf8)) == .null)
        #expect(MessageScreen.requestID(inPrefix: Array(#"{"method":"a","params":{"text":"\"id\":9"#.utf8)) == .null)
        #expect(MessageScreen.requestID(inPrefix: Array(#"{"id":12"#.utf8)) == .null)   // cut inside the number
        let answer = try? JSONDecoder().decode([String: Value].self, from: MessageScreen.tooLarge(
            prefix: Array(#"{"id":3,"#.utf8), limit: 1024, setting: "LINUX_MCP_MAX_MESSAGE_BYTES"))
        #expect(answer?["id"] == .int(3) && "\(answer?["error"] ?? .null)".contains("1024 bytes (LINUX_MCP_MAX_MESSAGE_BYTES)"))
    }

    @Test("The whole argument object is bounded before any tool looks at it: depth, entries, string length, total size")
    func argumentEnvelope() throws {
        try ArgumentEnvelope.check(["host": "web1", "parameters": .object(["unit": "nginx.service"]), "rationale": .string(String(repeating: "r", count: 2000))])
        var deep: Value = "x"
        for _ in 0..<5 { deep = .object(["k": deep]) }
        #expect(throws: ToolCallError.self) { try ArgumentEnvelope.check(["a": deep]) }
        #expect(throws: ToolCallError.self) { try ArgumentEnvelope.check(["a": .array(Array(repeating: 1, count: 100))]) }
        #expect(throws: ToolCallError.self) { try ArgumentEnvelope.check(["a": .string(String(repeating: "x", count: 5000))]) }
        let wide = Dictionary(uniqueKeysWithValues: (0..<5).map { ("k\($0)", Value.string(String(repeating: "x", count: 4000))) })
        #expect(throws: ToolCallError.self) { try ArgumentEnvelope.check(wide) }
    }
}

import Foundation
import InfraTestSupport
import Testing

/// The protocol boundary of the real `serve` (issue 14), driven by the raw JSON-RPC client of
/// Tests/mcp/raw_client.py (its own fd buffering, no SDK).
@Suite("Protocol boundary: large messages refused at once, spec error codes (real binary)", endToEnd)
struct ProtocolBoundaryServeTests {
    @Test("8 MiB and 64 MiB messages are refused before they are read (within 0.5 s, or while still being sent), the next request is answered within 1 s, RSS stays under twice idle")
    func largeMessagesAreRefusedAtOnce() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            let scenario: [String: Any] = ["sizes": [8 << 20, 64 << 20]]
            let run = try await ProcessRunner.run("/usr/bin/python3", [FaultInjectionTests.rawClient, "big-message", productBinary(), target.envFile,
                                                                       target.stateDirectory + "/serve.stderr",
                                                                       String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
            try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
            let report = try FaultInjectionTests.json(run.stdout)
            let idle = try #require(report["idleRSS"] as? Int)
            let messages = report["messages"] as? [[String: Any]] ?? []
            #expect(messages.count == 2)
            for message in messages {
                let size = message["size"] as? Int ?? 0
                let refusal = message["refusal"] as? [String: Any]
                let error = refusal?["error"] as? [String: Any]
                #expect(error?["code"] as? Int == -32600, "\(size): \(message)")
                #expect((error?["message"] as? String)?.contains("larger than 1048576 bytes (LINUX_MCP_MAX_MESSAGE_BYTES)") == true, "\(message)")
                #expect(refusal?["id"] as? Int != nil, "the refusal carries the request's id: \(message)")
                // Refused as soon as the limit passed: while the client was still sending the rest, or within 3 s
                // (a small message is written faster than that). Absolute speed is the benchmark's business.
                let refused = message["refusalSeconds"] as? Double ?? 99, wrote = message["writeSeconds"] as? Double ?? 0
                #expect(refused <= 3.0 || refused < wrote, "\(size) bytes: \(message)")
                // Still answering right after (a quadratic reader would take minutes on 64 MiB); slack for a loaded machine.
                #expect((message["pingAfterWrittenSeconds"] as? Double ?? 99) <= 5.0, "\(size) bytes: \(message)")
                #expect((message["peakRSS"] as? Int ?? Int.max) < 2 * idle, "\(size) bytes: RSS \(message["peakRSS"] ?? "?") kB, idle \(idle) kB")
            }
            #expect(report["exit"] as? Int == 0)
        }
    }

    @Test("Malformed requests get the JSON-RPC code the spec gives, with the request's id or null; the server stays up")
    func errorCodes() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            // (name, raw line, id the answer carries (null: "null"), expected code, words of the message)
            let cases: [(String, String, Any, Int, String)] = [
                ("no name", #"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"arguments":{}}}"#, 11, -32602, "params.name"),
                ("arguments not an object", #"{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"list_hosts","arguments":"x"}}"#,
                 12, -32602, "params.arguments"),
                ("no params", #"{"jsonrpc":"2.0","id":13,"method":"tools/call"}"#, 13, -32602, "params"),
                ("id is an object", #"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#, NSNull(), -32600, "'id'"),
                ("unknown method", #"{"jsonrpc":"2.0","id":14,"method":"no/such"}"#, 14, -32601, ""),
                ("invalid JSON", #"{"jsonrpc":"2.0","id":15,"#, NSNull(), -32700, "not valid JSON"),
                ("still serving", #"{"jsonrpc":"2.0","id":16,"method":"ping"}"#, 16, 0, ""),
            ]
            let scenario: [String: Any] = ["cases": cases.map { ["name": $0.0, "line": $0.1, "expectId": $0.2] }]
            let run = try await ProcessRunner.run("/usr/bin/python3", [FaultInjectionTests.rawClient, "error-codes", productBinary(), target.envFile,
                                                                       target.stateDirectory + "/serve.stderr",
                                                                       String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
            try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
            let answers = try FaultInjectionTests.json(run.stdout)["answers"] as? [[String: Any]] ?? []
            #expect(answers.count == cases.count)
            for (index, expected) in cases.enumerated() where index < answers.count {
                let answer = answers[index]["answer"] as? [String: Any]
                let error = answer?["error"] as? [String: Any]
                if expected.3 == 0 {
                    #expect(answer?["result"] != nil, "\(expected.0): \(answer ?? [:])")
                    continue
                }
                #expect(error?["code"] as? Int == expected.3, "\(expected.0): \(answer ?? [:])")
                let message = error?["message"] as? String ?? ""
                #expect(expected.4.isEmpty || message.contains(expected.4), "\(expected.0): \(message)")
                #expect(!message.contains("The data") && !message.contains(" /") && !message.contains(".swift"),
                        "\(expected.0) leaks Foundation text or a path: \(message)")
            }
        }
    }
}

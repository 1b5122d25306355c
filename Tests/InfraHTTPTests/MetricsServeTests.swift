import Foundation
import Glibc
import InfraTestSupport
import Testing

/// The real `mcp-linux-infra serve --http` on loopback with a host that nothing answers for: the official MCP
/// Python client makes tool calls over HTTP, and `Tests/mcp/metrics_check.py` scrapes `/metrics` before and
/// after, parsing it with prometheus_client's text parser.
@Suite("serve --http: /metrics in Prometheus text, its own token scope, counters that move (real binary, Python clients)")
struct MetricsServeTests {
    static var python: String {
        (ProcessInfo.processInfo.environment["MCP_INFRA_CACHE"] ?? "/var/cache/mcp-linux-infra") + "/mcp-venv/bin/python"
    }

    @Test("/metrics: 401 without a token and with an MCP token, a metrics token refused at /mcp, counters move after tool calls")
    func scrapeAfterToolCalls() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "no MCP client venv: run scripts/install-deps.sh")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-metrics-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let envFile = try await LocalServeConfiguration.make(in: folder, hosts: ["down"], port: try LocalServeConfiguration.closedPort())
        let environment = ["HOME": folder, "PATH": "/usr/bin:/bin"]
        func cli(_ arguments: [String]) async throws -> String {
            let outcome = try await ProcessRunner.run(productBinary(), arguments + ["--env-file", envFile], environment: environment)
            try #require(outcome.status == 0, "\(arguments): \(outcome)")
            return outcome.stdout.trimmingCharacters(in: .newlines)
        }
        let mcpToken = try await cli(["tokens", "add", "metrics-e2e"])
        let metricsToken = try await cli(["tokens", "add", "scraper", "--scope", "metrics"])

        let log = folder + "/serve.stderr"
        let server = try await HTTPServerProcess.start(envFile: envFile, stderrPath: log, environment: environment)
        let base = server.baseURL

        let check: ProcessRunner.Outcome
        do {
            check = try await ProcessRunner.run(Self.python, [LoopbackTarget.repositoryRoot + "/Tests/mcp/metrics_check.py", base],
                                                environment: environment.merging(["MCP_TOKEN": mcpToken, "METRICS_TOKEN": metricsToken]) { $1 })
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        try #require(check.status == 0, "metrics_check.py: \(check)\nserver log:\n\(Self.text(log))")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any], "\(check.stdout)")
        func object(_ key: String) -> [String: Any] { report[key] as? [String: Any] ?? [:] }
        func pair(_ key: String) -> [Double] { object("toolCalls")[key] as? [Double] ?? [] }

        for refused in ["noToken", "mcpToken", "unknownToken", "metricsTokenAtMCP"] {
            #expect(object(refused)["status"] as? Int == 401, "\(refused): \(object(refused))")
            #expect((object(refused)["challenge"] as? String)?.hasPrefix("Bearer") == true, "\(refused): \(object(refused))")
        }
        #expect(object("before")["status"] as? Int == 200 && object("after")["status"] as? Int == 200, "\(report)")
        #expect((object("before")["contentType"] as? String)?.hasPrefix("text/plain; version=0.0.4") == true, "\(report)")
        let calls = object("calls")
        #expect(calls["listHosts"] as? [Bool] == [false, false] && calls["memory"] as? [Bool] == [true] && calls["bad"] as? [Bool] == [true],
                "\(calls)")
        // The counters moved by exactly the calls made; a tool name that is not ours is counted as `unknown`.
        #expect(pair("listHostsOk").count == 2 && pair("listHostsOk")[1] - pair("listHostsOk")[0] == 2, "\(object("toolCalls"))")
        #expect(pair("memoryError").count == 2 && pair("memoryError")[1] - pair("memoryError")[0] == 1, "\(object("toolCalls"))")
        #expect(pair("catalogOk").count == 2 && pair("catalogOk")[1] - pair("catalogOk")[0] == 1, "\(object("toolCalls"))")
        #expect(pair("unknownError").count == 2 && pair("unknownError")[1] - pair("unknownError")[0] == 1, "\(object("toolCalls"))")
        let tools = object("toolCalls")["tools"] as? [String] ?? []
        #expect(Set(tools) == ["list_hosts", "get_memory_info", "list_pra_catalog", "unknown"], "\(tools)")
        // The unreachable host's attempt is in the latency histogram; nothing stays open.
        let ssh = object("ssh")
        #expect((ssh["unreachableCount"] as? Double ?? 0) >= 1 && ssh["unreachableInfBucket"] as? Double == ssh["unreachableCount"] as? Double,
                "\(ssh)")
        #expect(ssh["sessionsOpen"] as? Double == 0 && ssh["handshakesInFlight"] as? Double == 0, "\(ssh)")
        // Every state is a series (0 here: nothing was proposed); the audit chain holds and grew with the calls.
        let proposals = object("proposals") as? [String: Double] ?? [:]
        #expect(proposals.count == 9 && proposals.values.allSatisfy { $0 == 0 } && proposals["PROPOSED"] == 0, "\(proposals)")
        let audit = object("audit")
        let rowsBefore = audit["rowsBefore"] as? Double ?? 0, rowsAfter = audit["rowsAfter"] as? Double ?? 0
        #expect(rowsBefore >= 1 && rowsAfter >= rowsBefore + 5 && audit["verifiedRow"] as? Double == rowsAfter, "\(audit)")
        #expect(audit["chainOk"] as? Double == 1, "\(audit)")
        let checked = audit["checkedAt"] as? Double ?? 0
        #expect(abs(checked - Date().timeIntervalSince1970) < 300, "\(audit)")
        let types = object("types") as? [String: String] ?? [:]
        #expect(types["mcp_infra_tool_calls"] == "counter" && types["mcp_infra_ssh_exec_duration_seconds"] == "histogram"
                && types["mcp_infra_proposals"] == "gauge" && types["mcp_infra_audit_chain_ok"] == "gauge", "\(types)")
        // The tokens never reach the log.
        let serverLog = Self.text(log)
        #expect(!serverLog.contains(mcpToken) && !serverLog.contains(metricsToken))
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
}

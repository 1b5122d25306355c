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
        let envFile = try await Self.configuration(in: folder)
        let environment = ["HOME": folder, "PATH": "/usr/bin:/bin"]
        func cli(_ arguments: [String]) async throws -> String {
            let outcome = try await ProcessRunner.run(productBinary(), arguments + ["--env-file", envFile], environment: environment)
            try #require(outcome.status == 0, "\(arguments): \(outcome)")
            return outcome.stdout.trimmingCharacters(in: .newlines)
        }
        let mcpToken = try await cli(["tokens", "add", "metrics-e2e"])
        let metricsToken = try await cli(["tokens", "add", "scraper", "--scope", "metrics"])

        let log = folder + "/serve.stderr"
        let server = try ChildProcess.start(productBinary(), ["serve", "--env-file", envFile, "--http", "127.0.0.1:0"],
                                            environment: environment, stderr: log, newSession: true)
        defer { Self.stop(server) }
        let base = try await Self.boundAddress(log: log, server: server)

        let check = try await ProcessRunner.run(Self.python, [LoopbackTarget.repositoryRoot + "/Tests/mcp/metrics_check.py", base],
                                                environment: environment.merging(["MCP_TOKEN": mcpToken, "METRICS_TOKEN": metricsToken]) { $1 })
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

    /// A configuration in `folder` whose one host, `down`, is a loopback port nothing listens on; returns the .env path.
    static func configuration(in folder: String) async throws -> String {
        let files = FileManager.default
        try files.createDirectory(atPath: folder + "/keys", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in ["mcp-reader", "pra-runner", "hostkey"] {
            let made = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "metrics", "-f", "\(folder)/keys/\(name)"])
            try #require(made.status == 0, "\(made)")
        }
        let port = try closedPort()
        let hostKey = try String(contentsOfFile: folder + "/keys/hostkey.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostKey)\n".write(toFile: folder + "/keys/known_hosts", atomically: true, encoding: .utf8)
        try """
        all:
          hosts:
            down:
              ansible_host: 127.0.0.1
              ansible_port: \(port)
        """.write(toFile: folder + "/inventory.yml", atomically: true, encoding: .utf8)
        let envFile = folder + "/linux-mcp.env"
        try """
        LINUX_MCP_INVENTORY=\(folder)/inventory.yml
        LINUX_MCP_KNOWN_HOSTS=\(folder)/keys/known_hosts
        LINUX_MCP_CATALOGUE=\(LoopbackTarget.repositoryRoot)/system/pra-catalogue.tsv
        LINUX_MCP_DB=\(folder)/state/state.sqlite3
        LINUX_MCP_HTTP_TOKENS=\(folder)/state/http-tokens
        LINUX_MCP_READER_KEY=\(folder)/keys/mcp-reader
        LINUX_MCP_RUNNER_KEY=\(folder)/keys/pra-runner
        LINUX_MCP_SSH_AGENT=none
        LINUX_MCP_AUDIT_WITNESS=\(folder)/witness.sock

        """.write(toFile: envFile, atomically: true, encoding: .utf8)
        return envFile
    }

    /// A loopback TCP port that was free a moment ago and is closed now (connecting to it is refused).
    static func closedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        try #require(bound, "cannot bind a loopback port: \(String(cString: strerror(errno)))")
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits (30 s at most) for the log line naming the bound address; returns `http://127.0.0.1:PORT`.
    static func boundAddress(log: String, server: ChildProcess) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let match = text(log).firstMatch(of: /mcp=http:\/\/(127\.0\.0\.1:[0-9]+)\/mcp/) { return "http://" + match.1 }
            var status: Int32 = 0
            if waitpid(server.pid, &status, WNOHANG) == server.pid {
                throw TestFailure(description: "serve --http exited before listening:\n\(text(log))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure(description: "serve --http did not report its address within 30 s:\n\(text(log))")
    }

    /// Stops the server by its PID: SIGTERM, then SIGKILL if it has not ended within 15 s.
    static func stop(_ server: ChildProcess) {
        kill(server.pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(15)
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            let reaped = waitpid(server.pid, &status, WNOHANG)
            if reaped == server.pid || (reaped < 0 && errno == ECHILD) { return }
            usleep(20_000)
        }
        kill(server.pid, SIGKILL)
        _ = server.waitBlocking()
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// A failure with the server's log in it.
    struct TestFailure: Error, CustomStringConvertible {
        var description: String
    }
}

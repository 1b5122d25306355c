import Foundation
import InfraTestSupport
import Testing

/// `mcp-linux-infra serve` driven by the official MCP Python SDK (PyPI `mcp`, in a venv made by
/// scripts/install-deps.sh) over stdio, against two real systemd targets deployed by the Ansible role.
@Suite("End to end: MCP server with the official Python client", endToEnd, .serialized)
struct MCPServerTests {
    static var python: String {
        (ProcessInfo.processInfo.environment["MCP_INFRA_CACHE"] ?? "/var/cache/mcp-linux-infra") + "/mcp-venv/bin/python"
    }

    @Test("initialize, tools/list, every tool with real data matching its outputSchema, hostile arguments refused before SSH, fan-out")
    func pythonClient() async throws {
        try requirePrerequisites()
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "no MCP client venv: run scripts/install-deps.sh")
        try await NspawnTarget.with(indexes: [25, 26]) { targets in
            try await DeploymentWorkspace.with(targets: targets) { workspace in
                let deploy = try await workspace.playbook("deploy-mcp-infra.yml")
                try #require(deploy.status == 0, "\(deploy)")
                // A third host that is down: nothing listens on 127.0.0.1:9.
                let inventory = try String(contentsOfFile: workspace.inventory, encoding: .utf8)
                try (inventory + "  hosts:\n    t3:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n")
                    .write(toFile: workspace.inventory, atomically: true, encoding: .utf8)
                let pinned = targets[0].knownHostsLine.split(separator: " ").dropFirst().joined(separator: " ")
                let knownHosts = try String(contentsOfFile: workspace.keys + "/known_hosts", encoding: .utf8)
                try (knownHosts + "[127.0.0.1]:9 \(pinned)\n").write(toFile: workspace.keys + "/known_hosts", atomically: true, encoding: .utf8)

                let stderrPath = workspace.directory + "/server.stderr"
                let scenario = #"{"single": "t1", "group": "targets", "mixed": "targets,t3", "unit": "unbound.service", "stderr": "\#(stderrPath)"}"#
                let run = try await ProcessRunner.run(Self.python, [LoopbackTarget.repositoryRoot + "/Tests/mcp/mcp_client_check.py",
                                                                   productBinary(), workspace.envFile, scenario])
                try #require(run.status == 0, "client failed: \(run.stderr.suffix(3000))")
                let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])

                #expect((report["protocol"] as? String) == "2025-11-25")
                #expect((report["instructions"] as? String)?.contains("Never repeat an identical call that failed") == true)
                let tools = try #require(report["tools"] as? [String: [String: Any]])
                for name in ["list_hosts", "get_system_info", "get_memory_info", "get_disk_usage", "get_service_status",
                             "get_journal_logs", "get_listening_ports"] {
                    let tool = try #require(tools[name], "\(name) missing from tools/list")
                    #expect(tool["readOnly"] as? Bool == true && tool["destructive"] as? Bool == false, "\(name)")
                    #expect(tool["idempotent"] as? Bool == true && tool["openWorld"] as? Bool == false, "\(name)")
                    #expect(tool["hasOutputSchema"] as? Bool == true, "\(name)")
                    let input = tool["input"] as? [String: Any]
                    #expect(input?["additionalProperties"] as? Bool == false, "\(name)")
                }

                let calls = try #require(report["calls"] as? [String: [String: Any]])
                for (name, call) in calls {
                    #expect(call["isError"] as? Bool == false, "\(name): \(call["text"] ?? "")")
                    #expect(call["schemaValid"] as? Bool == true, "\(name): \(call["schemaError"] ?? "no structured content")")
                }
                func data(_ name: String) -> [String: Any]? {
                    ((calls[name]?["structured"] as? [String: Any])?["results"] as? [[String: Any]])?.first?["data"] as? [String: Any]
                }
                #expect(data("get_system_info")?["osID"] as? String == "debian")
                #expect(data("get_system_info")?["hostname"] as? String == "mcpt-25")
                #expect((data("get_memory_info")?["totalBytes"] as? Int ?? 0) > 0)
                #expect(data("get_service_status")?["activeState"] as? String == "active")
                #expect((data("get_service_status")?["mainPID"] as? Int ?? 0) > 1)
                let entries = data("get_journal_logs")?["entries"] as? [[String: Any]] ?? []
                #expect(entries.contains { ($0["identifier"] as? String) == "unbound" }, "\(entries.prefix(3))")
                let sockets = data("get_listening_ports")?["sockets"] as? [[String: Any]] ?? []
                #expect(sockets.contains { ($0["port"] as? Int) == 22 } && sockets.contains { ($0["port"] as? Int) == 53 })
                let hostList = (calls["list_hosts"]?["structured"] as? [String: Any])?["hosts"] as? [[String: Any]] ?? []
                #expect(hostList.compactMap { $0["name"] as? String } == ["t1", "t2", "t3"])

                // Fan-out: both real targets answer, the third host is reported failed, the call still succeeds.
                let fanout = ((calls["fanout"]?["structured"] as? [String: Any])?["results"] as? [[String: Any]]) ?? []
                #expect(fanout.compactMap { $0["host"] as? String } == ["t1", "t2", "t3"])
                #expect(fanout.prefix(2).allSatisfy { $0["ok"] as? Bool == true })
                #expect(fanout.last?["ok"] as? Bool == false && (fanout.last?["error"] as? String)?.isEmpty == false)
                #expect((report["progress"] as? [[Any]])?.count == 3, "progress notifications: \(report["progress"] ?? [])")

                // Hostile arguments: isError with a message naming the argument, and nothing sent to any host.
                let hostile = try #require(report["hostile"] as? [String: [String: Any]])
                let expectedWords = ["unknown-host": "host", "group-unknown-member": "host", "option-unit": "unit",
                                     "dotdot-unit": "unit", "huge-lines": "lines", "control-chars": "grep",
                                     "extra-argument": "command", "group-for-single": "host", "host-injection": "host",
                                     "list-hosts-argument": "host"]
                for (key, word) in expectedWords {
                    let call = try #require(hostile[key], "\(key) not run")
                    #expect(call["isError"] as? Bool == true, "\(key) was not refused")
                    #expect((call["text"] as? String)?.contains("argument '\(word)'") == true, "\(key): \(call["text"] ?? "")")
                }
                let audit = try await targets[0].root(["journalctl", "--no-pager", "-o", "cat", "-t", "mcp-wrapper"])
                let lines = audit.stdout.split(separator: "\n")
                #expect(!lines.contains { $0.contains("refused") }, "a hostile request reached mcp-wrapper: \(lines.filter { $0.contains("refused") })")
                // t1 got exactly the valid calls' requests: system info 3, memory, disks, unit-show, journal, listening,
                // fan-out 3, and the raw stdout check's system info 3.
                #expect(lines.filter { $0.hasPrefix("accepted") }.count == 11 + 3, "\(lines)")

                // stdout carries only JSON-RPC; the server's logs go to stderr.
                let serverLog = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
                #expect(serverLog.contains("tool call"), "no server log on stderr: \(serverLog.prefix(500))")
                let raw = try #require(report["raw"] as? [String: Any])
                #expect((raw["lines"] as? Int ?? 0) >= 4 && raw["lines"] as? Int == raw["jsonrpcLines"] as? Int, "stdout: \(raw)")
                #expect((raw["stderrBytes"] as? Int ?? 0) > 0 && raw["exit"] as? Int == 0, "\(raw)")
            }
        }
    }
}

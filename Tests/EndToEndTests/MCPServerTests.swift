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

    /// Every tool the server must list (issue 5), and those that need a container runtime.
    static let toolNames: Set<String> = [
        "list_hosts", "get_system_info", "get_cpu_info", "get_memory_info", "get_disk_usage", "get_block_devices", "get_hardware_info",
        "list_services", "get_service_status", "get_service_logs", "check_service_health",
        "get_network_interfaces", "get_routing_table", "get_listening_ports", "get_active_connections", "get_dns_config", "test_connectivity",
        "get_journal_logs", "read_log_file", "search_logs", "analyze_errors",
        "list_processes", "get_process_info", "list_largest_directories",
        "list_containers", "get_container_logs", "get_fail2ban_status", "check_http_endpoint",
    ]
    /// The approved-action tools (issue 6; tested in ApprovedActionWorkflowTests).
    static let actionTools: Set<String> = ["propose_pra_action", "list_pending_actions", "get_pra_action", "execute_pra_action",
                                           "cancel_pra_action", "list_pra_catalog"]
    static let needsContainerRuntime: Set<String> = ["list_containers", "get_container_logs"]

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
                #expect(Set(tools.keys) == Self.toolNames.union(Self.actionTools), "tools/list: \(tools.keys.sorted())")
                #expect(!tools.keys.contains { $0.contains("approve") || $0.contains("reject") })
                for name in Self.toolNames {
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
                // Every tool was called with real arguments and answered; the unit of work is checked per tool.
                #expect(Set(calls.keys.filter { !["fanout", "list_hosts_probe"].contains($0) }) == Self.toolNames.subtracting(Self.needsContainerRuntime),
                        "not called: \(Self.toolNames.subtracting(calls.keys).sorted())")
                #expect(data("get_cpu_info")?["cpus"] as? Int ?? 0 >= 1 && (data("get_cpu_info")?["architecture"] as? String)?.isEmpty == false)
                #expect((data("get_block_devices")?["devices"] as? [[String: Any]]) != nil)
                #expect(data("get_hardware_info")?["virtualization"] as? String == "systemd-nspawn")
                let units = data("list_services")?["units"] as? [[String: Any]] ?? []
                #expect(units.contains { $0["unit"] as? String == "unbound.service" && $0["subState"] as? String == "running" })
                #expect((data("get_service_logs")?["entries"] as? [[String: Any]] ?? []).contains { $0["identifier"] as? String == "unbound" })
                let health = ((calls["check_service_health"]?["structured"] as? [String: Any])?["results"] as? [[String: Any]]) ?? []
                #expect(health.compactMap { $0["host"] as? String } == ["t1", "t2"])
                for entry in health {
                    let verdict = entry["data"] as? [String: Any]
                    #expect(verdict?["activeState"] as? String == "active")
                    #expect((verdict?["healthy"] as? Bool) == (verdict?["problems"] as? [String])?.isEmpty, "\(verdict ?? [:])")
                }
                let interfaces = data("get_network_interfaces")?["interfaces"] as? [[String: Any]] ?? []
                #expect(interfaces.contains { ($0["name"] as? String) == "host0"
                    && (($0["addresses"] as? [[String: Any]]) ?? []).contains { $0["address"] as? String == targets[0].address } })
                #expect((data("get_routing_table")?["routes"] as? [[String: Any]] ?? []).contains { $0["destination"] as? String == "10.231.25.0/24" })
                #expect((data("get_active_connections")?["connections"] as? [[String: Any]] ?? []).contains {
                    $0["localAddress"] as? String == targets[0].address && $0["localPort"] as? Int == 22 })
                #expect(data("get_dns_config")?["nameservers"] as? [String] == ["127.0.0.1"])
                #expect(data("test_connectivity")?["reachable"] as? Bool == true && data("test_connectivity")?["received"] as? Int == 1)
                #expect(data("check_http_endpoint")?["statusCode"] as? Int == 200)
                #expect((data("read_log_file")?["lines"] as? [String] ?? []).contains { $0.contains("fail2ban") })
                #expect((data("search_logs")?["matches"] as? [[String: Any]] ?? []).contains { ($0["text"] as? String)?.contains("Jail 'sshd'") == true })
                let errors = ((calls["analyze_errors"]?["structured"] as? [String: Any])?["results"] as? [[String: Any]]) ?? []
                #expect(errors.count == 2 && errors.allSatisfy { ($0["data"] as? [String: Any])?["total"] is Int })
                let processes = data("list_processes")?["processes"] as? [[String: Any]] ?? []
                #expect(processes.contains { $0["command"] as? String == "unbound" } && processes.count <= 20)
                #expect(data("get_process_info")?["pid"] as? Int == 1)
                #expect((data("list_largest_directories")?["directories"] as? [[String: Any]])?.first?["path"] as? String == "/var")
                #expect(data("get_fail2ban_status")?["jails"] as? [String] == ["sshd"])
                #expect((data("get_fail2ban_status")?["jail"] as? [String: Any])?["jail"] as? String == "sshd")
                // list_hosts with probe: the two targets answered the version request, the down host did not.
                let probed = (calls["list_hosts_probe"]?["structured"] as? [String: Any])?["hosts"] as? [[String: Any]] ?? []
                let states = probed.map { (($0["reachability"] as? [String: Any])?["state"] as? String) ?? "?" }
                #expect(states == ["reachable", "reachable", "unreachable"], "\(probed)")
                #expect(((probed.first?["reachability"] as? [String: Any])?["detail"] as? String)?.contains("mcp-wrapper") == true)
                // No container runtime in an nspawn target: both container tools say so as an error.
                let unavailable = report["unavailable"] as? [String: [String: Any]] ?? [:]
                #expect(Set(unavailable.keys) == Self.needsContainerRuntime)
                for (name, call) in unavailable {
                    #expect(call["isError"] as? Bool == true && (call["text"] as? String)?.contains("no container runtime") == true, "\(name): \(call)")
                }
                // Resources: the inventory and the catalogue, with the catalogue's version.
                #expect(report["resources"] as? [String] == ["catalogue://actions", "inventory://hosts"])
                let catalogue = report["catalogue"] as? [String: Any]
                #expect((catalogue?["version"] as? String)?.hasPrefix("sha256:") == true)
                #expect((catalogue?["actions"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted() == (try catalogueActions()).sorted())

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
                                     "list-hosts-argument": "host", "dotdot-path": "path", "relative-path": "path",
                                     "option-target": "target", "url-injection": "url", "huge-pid": "pid",
                                     "fractional-count": "count", "bad-choice": "state", "option-jail": "jail",
                                     "probe-not-bool": "probe"]
                #expect(Set(hostile.keys) == Set(expectedWords.keys))
                for (key, word) in expectedWords {
                    let call = try #require(hostile[key], "\(key) not run")
                    #expect(call["isError"] as? Bool == true, "\(key) was not refused")
                    #expect((call["text"] as? String)?.contains("argument '\(word)'") == true, "\(key): \(call["text"] ?? "")")
                }
                let audit = try await targets[0].root(["journalctl", "--no-pager", "-o", "cat", "-t", "mcp-wrapper"])
                let lines = audit.stdout.split(separator: "\n")
                // The only refusals on the target are the two container verbs ("no container runtime").
                let refused = lines.filter { $0.hasPrefix("refused") }
                #expect(refused.count == 2 && refused.allSatisfy { $0.contains(#"no\ container\ runtime"#) }, "a hostile request reached mcp-wrapper: \(refused)")
                // t1 got exactly the valid calls' requests: system info 3, memory, disks, unit-show, journal, listening,
                // fan-out 3; cpu 2, block devices, hardware, units, service logs, health 2, interfaces, routes,
                // connections, dns, ping, http, log tail, log search, error analysis, processes, process, largest dirs,
                // fail2ban 2, the probe's version; and the raw stdout check's system info 3.
                #expect(lines.filter { $0.hasPrefix("accepted") }.count == 11 + 23 + 3, "\(lines)")

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

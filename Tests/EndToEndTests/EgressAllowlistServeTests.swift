import Foundation
import InfraTestSupport
import Testing

/// Finding 1 and 10 of the target review, on the server's side: what a host's inventory lists is checked
/// before any SSH, so the AI gets an error naming the variable to set, and nothing reaches the host.
@Suite("Egress and container allowlists: the server refuses before SSH (real binary, real sshd)", endToEnd)
struct EgressAllowlistServeTests {
    @Test("Metadata and unlisted URLs, unlisted ping targets and containers: refused by the server, naming the variable; no SSH")
    func refusedBeforeSSH() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            let calls: [[Any]] = [
                ["check_http_endpoint", ["host": "loopback", "url": "http://169.254.169.254/latest/meta-data/"]],
                ["check_http_endpoint", ["host": "loopback", "url": "http://127.0.0.2/admin"]],
                ["test_connectivity", ["host": "loopback", "target": "data.attacker.example"]],
                ["get_container_logs", ["host": "loopback", "name": "other"]],
                ["propose_pra_action", ["host": "loopback", "action": "restart_container", "parameters": ["name": "other"],
                                        "rationale": "the container named other looks stuck"]],
                ["check_http_endpoint", ["host": "loopback", "url": "http://127.0.0.1/"]],
            ]
            let scenario: [String: Any] = ["calls": calls]
            let run = try await ProcessRunner.run("/usr/bin/python3", [FaultInjectionTests.rawClient, "calls", productBinary(), target.envFile,
                                                                       target.stateDirectory + "/serve.stderr",
                                                                       String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
            try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
            let results = try FaultInjectionTests.json(run.stdout)["results"] as? [[String: Any]] ?? []
            try #require(results.count == calls.count, "\(results)")
            let expected = ["mcp_http_checks", "mcp_http_checks", "mcp_ping_targets", "mcp_allowed_containers", "mcp_allowed_containers"]
            for (index, variable) in expected.enumerated() {
                #expect(results[index]["isError"] as? Bool == true && (results[index]["text"] as? String ?? "").contains(variable),
                        "\(calls[index]): \(results[index])")
            }
            // The listed URL goes through (whatever answers there), so the refusals above were the lists'.
            #expect(!(results[5]["text"] as? String ?? "").contains("mcp_http_checks"), "\(results[5])")
            let audit = (try? String(contentsOfFile: target.stateDirectory + "/audit.log", encoding: .utf8)) ?? ""
            for word in ["169.254.169.254", "127.0.0.2", "attacker", "verb=container-logs"] {
                #expect(!audit.contains(word), "a refused request reached the host: \(word)")
            }
        }
    }
}

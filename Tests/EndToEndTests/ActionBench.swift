import Foundation
import InfraTestSupport
import Testing

/// One loopback action target with the real target side and the marker action, seen from both sides: the
/// approver's CLI (their key in an ssh-agent of their own account), the server's tools through a real MCP
/// client, the runner key used past the server, and the state database.
struct ActionBench {
    let target: LoopbackTarget
    let approver: String
    let agent: SSHAgentProcess
    let catalogue: String

    var state: String { target.stateDirectory }
    var database: String { state + "/state/state.sqlite3" }

    /// The CLI on the target's settings and catalogue, as root or as `user`, with `extra` variables.
    func cli(_ arguments: [String], as user: String? = nil, extra: [String: String] = [:]) async throws -> ProcessRunner.Outcome {
        let argv = [state + "/mcp-linux-infra"] + arguments + ["--env-file", target.envFile]
        let env = (extra.merging(["LINUX_MCP_CATALOGUE": catalogue]) { first, _ in first }).map { "\($0.key)=\($0.value)" }.sorted()
        if let user { return try await ProcessRunner.run("/usr/sbin/runuser", ["-u", user, "--", "/usr/bin/env"] + env + argv) }
        return try await ProcessRunner.run("/usr/bin/env", env + argv)
    }

    /// The approver at their terminal, their key in their own ssh-agent.
    func approve(_ id: String, _ extra: [String] = []) async throws -> ProcessRunner.Outcome {
        try await cli(["actions", "approve", id] + extra, as: approver, extra: agent.environment)
    }

    /// MCP tool calls through the real binary and the raw JSON-RPC client; their answers in order.
    func calls(_ list: [[Any]]) async throws -> [[String: Any]] {
        let scenario: [String: Any] = ["env": ["LINUX_MCP_CATALOGUE": catalogue], "calls": list]
        let run = try await ProcessRunner.run("/usr/bin/python3", [FaultInjectionTests.rawClient, "calls", productBinary(), target.envFile,
                                                                   state + "/serve.stderr",
                                                                   String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
        try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
        return try FaultInjectionTests.json(run.stdout)["results"] as? [[String: Any]] ?? []
    }

    /// Proposes one action on the loopback host as the AI does; the stored action as the server returns it.
    func propose(_ action: String, _ parameters: [String: String], _ rationale: String) async throws -> [String: Any] {
        let answer = try await calls([["propose_pra_action", ["host": "loopback", "action": action, "parameters": parameters, "rationale": rationale]]])
        let proposed = (answer.first?["structured"] as? [String: Any])?["action"] as? [String: Any]
        return try #require(proposed, "\(answer)")
    }

    /// The runner key used with OpenSSH, past the server, as the server's account can.
    func runnerDirect(_ request: String, stdin: String) async throws -> ProcessRunner.Outcome {
        try await ProcessRunner.run("/usr/bin/ssh", ["-i", state + "/keys/pra-runner", "-p", String(target.port), "-o", "BatchMode=yes",
                                                     "-o", "UserKnownHostsFile=" + state + "/known_hosts", "-o", "StrictHostKeyChecking=yes",
                                                     "-o", "IdentitiesOnly=yes", "\(target.runnerUser)@127.0.0.1", request],
                                    input: Data(stdin.utf8))
    }

    /// Starts a bench, runs `body`, and stops the agent and the target whatever happens.
    static func with(_ body: (ActionBench) async throws -> Void) async throws {
        let link = "/run/mcp-infra-tests/bench-\(UUID().uuidString.prefix(8))"
        try await FaultInjectionTests.withActionTarget(extraCatalogue: SignedApprovalFlowTests.markerAction(link)) { target, approver in
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target.stateDirectory)
            defer { try? FileManager.default.removeItem(atPath: link) }
            let state = target.stateDirectory
            let agentHome = state + "/agent-home"
            #expect(try await ProcessRunner.run("/usr/bin/install", ["-d", "-m", "0700", "-o", approver, agentHome]).status == 0)
            #expect(try await ProcessRunner.run("/usr/bin/install", ["-m", "0600", "-o", approver, state + "/approvers/alice", agentHome + "/key"]).status == 0)
            let agent = try await SSHAgentProcess(socketPath: agentHome + "/agent.sock", user: approver)
            do {
                try await agent.add(agentHome + "/key")
                try FileManager.default.removeItem(atPath: agentHome + "/key")
                let catalogue = FaultInjectionTests.actionEnvironment(target)["LINUX_MCP_CATALOGUE"]!
                try await body(ActionBench(target: target, approver: approver, agent: agent, catalogue: catalogue))
            } catch {
                await agent.stop()
                throw error
            }
            await agent.stop()
        }
    }
}

import Foundation
import InfraTestSupport
import Testing

/// `serve --http` on a role-deployed target: the official MCP Python client, holding a bearer token, runs the
/// story over Streamable HTTP (diagnose with progress, propose, a human approves with their key, execute once,
/// verify, cancel); the proposal records the token's name. Around it, the HTTP rules: 401 without a token, with
/// a wrong one and with a revoked one; 403 for a foreign Origin; 421 for a foreign Host; a session answers only
/// the token that opened it. SIGTERM stops the server in order and the stop is audited.
@Suite("End to end: serve --http with named tokens (official MCP client over Streamable HTTP)", endToEnd, .serialized)
struct HTTPServeTests {
    @Test("The story over HTTP on a deployed target; 401, 403, 421, 404 across tokens; revoke takes effect at once; SIGTERM drains")
    func storyOverHTTP() async throws {
        try requirePrerequisites()
        try #require(FileManager.default.isExecutableFile(atPath: MCPServerTests.python), "no MCP client venv: run scripts/install-deps.sh")
        try await NspawnTarget.with(indexes: [34]) { targets in
            let target = targets[0]
            try await DeploymentWorkspace.with(targets: targets) { workspace in
                let deploy = try await workspace.playbook("deploy-mcp-infra.yml")
                try #require(deploy.status == 0, "\(deploy)")
                #expect(try await target.root(["systemctl", "stop", "unbound.service"]).status == 0)
                let binary = productBinary()
                func token(_ name: String) async throws -> String {
                    let made = try await ProcessRunner.run(binary, ["tokens", "add", name, "--env-file", workspace.envFile])
                    try #require(made.status == 0, "\(made)")
                    return try #require(made.stdout.firstMatch(of: /mlit_[A-Za-z0-9_-]{43}/).map { String($0.0) }, "\(made)")
                }
                let claude = try await token("claude-ops"), other = try await token("other-client")
                let server = try await HTTPServerProcess.start(envFile: workspace.envFile, stderrPath: workspace.directory + "/http.stderr")
                let scenario: [String: Any] = [
                    "base": server.baseURL, "token": claude, "other_token": other, "other_name": "other-client", "binary": binary,
                    "env_file": workspace.envFile, "host": workspace.hostName(target), "alice_key": workspace.approverKey("alice"),
                ]
                let scenarioText = String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)
                func client(_ arguments: [String] = []) async throws -> [String: Any] {
                    let run = try await ProcessRunner.run(MCPServerTests.python, [LoopbackTarget.repositoryRoot + "/Tests/mcp/http_story.py",
                                                                                  scenarioText] + arguments)
                    try #require(run.status == 0, "client failed: \(run.stderr.suffix(3000))\nserver: \(server.stderr.suffix(3000))")
                    return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
                }
                let report: [String: Any]
                do {
                    report = try await client()
                    // The console: a real headless Chromium logs in with a signed nonce and approves what the AI proposed
                    // (the rationale holds <script>, shown as text); the AI then executes it on the target.
                    try await Self.approveInBrowser(server: server, workspace: workspace, client: client)
                } catch {
                    await server.stop()
                    throw error
                }
                let stopped = await server.stop()
                Self.checkHTTPRules(report)
                Self.checkStory(report)
                #expect(stopped == 0, "serve --http exit \(stopped): \(server.stderr.suffix(2000))")

                // The audit log: the token's name is the actor of the client's calls; the stop is recorded.
                let tail = try await ProcessRunner.run(binary, ["audit", "search", "--env-file", workspace.envFile])
                #expect(tail.stdout.contains("mcp:token:claude-ops  tool") && tail.stdout.contains("mcp:token:claude-ops  state"), "\(tail.stdout.suffix(3000))")
                #expect(tail.stdout.contains("stopped") && tail.stdout.contains("SIGTERM"), "\(tail.stdout.suffix(1500))")
                #expect(try await target.root(["systemctl", "is-active", "unbound.service"]).stdout.contains("active"))
            }
        }
    }

    static let browserPython = "/var/cache/mcp-linux-infra/mcp-venv/bin/python3"

    /// Proposes over MCP, approves in Chromium through the server's console with alice's agent-held key, executes over MCP.
    static func approveInBrowser(server: HTTPServerProcess, workspace: DeploymentWorkspace,
                                 client: ([String]) async throws -> [String: Any]) async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", browserPython] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) missing: run scripts/install-deps.sh")
        }
        let rationale = "<script>alert(1)</script> unbound answers slowly since the restart; restart it once more."
        let proposed = try await client(["propose", rationale])
        let id = try #require(proposed["id"] as? String, "\(proposed)")
        try #require(!id.isEmpty, "\(proposed)")
        // alice's key lives only in an ssh-agent from here on: the browser test signs through it.
        let agent = try await SSHAgentProcess(socketPath: workspace.directory + "/alice-agent.sock")
        do {
            try await agent.add(workspace.approverKey("alice"))
            let artefacts = LoopbackTarget.repositoryRoot + "/.build/artefacts/console-serve-http"
            let run = try await ProcessRunner.run(browserPython, [
                LoopbackTarget.repositoryRoot + "/Tests/browser/console_browser.py", "--base-url", server.baseURL,
                "--public-key", workspace.approverKey("alice") + ".pub", "--artefacts", artefacts, "--action", id,
                "--expect-rationale", rationale,
            ], environment: agent.environment.merging(["PATH": "/usr/bin:/bin", "HOME": workspace.directory]) { first, _ in first })
            await agent.stop()
            try #require(run.status == 0, "console_browser.py: \(run.stdout) \(run.stderr.suffix(3000))")
            let seen = try JSONDecoder().decode([String: String].self, from: Data(run.stdout.utf8))
            #expect(seen["state"] == "APPROVED" && seen["principal"] == "alice@example.org" && seen["action"] == id, "\(seen)")
            // That live console session opens nothing on /mcp: a cookie is no bearer token.
            let cookie = try #require(seen["sessionCookie"], "\(seen)")
            let mcp = try await ProcessRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                                                     "-H", "Cookie: console_session=\(cookie)", "-H", "Content-Type: application/json",
                                                                     "-H", "Accept: application/json, text/event-stream",
                                                                     "--data", #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, server.baseURL + "/mcp"])
            #expect(!cookie.isEmpty && mcp.stdout == "401", "a console session on /mcp: \(mcp.stdout)")
            for page in ["login", "queue", "action", "approved", "audit", "fleet"] {
                #expect(FileManager.default.fileExists(atPath: artefacts + "/\(page).png"), "\(page).png")
            }
        } catch {
            await agent.stop()
            throw error
        }
        let executed = try await client(["execute", id])
        let action = executed["action"] as? [String: Any] ?? [:]
        #expect(action["state"] as? String == "COMPLETED" && action["proposer"] as? String == "token:claude-ops", "\(executed)")
        let decisions = action["decisions"] as? [[String: Any]] ?? []
        #expect(decisions.first?["approver"] as? String == "alice@example.org", "\(decisions)")
    }

    static func checkHTTPRules(_ report: [String: Any]) {
        func answer(_ key: String) -> [String: Any] { report[key] as? [String: Any] ?? [:] }
        func status(_ key: String) -> Int { answer(key)["status"] as? Int ?? -1 }
        #expect(status("healthz") == 200)
        #expect(status("noToken") == 401 && (answer("noToken")["wwwAuthenticate"] as? String)?.hasPrefix("Bearer realm=") == true, "\(answer("noToken"))")
        #expect(status("wrongToken") == 401 && (answer("wrongToken")["wwwAuthenticate"] as? String)?.contains("invalid_token") == true)
        #expect(status("evilOrigin") == 403, "\(answer("evilOrigin"))")
        #expect(status("evilHost") == 421, "\(answer("evilHost"))")
        #expect(status("otherPortOrigin") == 403, "loopback on another port: \(answer("otherPortOrigin"))")
        #expect(status("resume") == 400 && (answer("resume")["body"] as? String)?.contains("does not resume") == true, "\(answer("resume"))")
        #expect(status("noSession") == 400, "\(answer("noSession"))")
        let session = answer("opened")["session"] as? String ?? ""
        #expect(status("opened") == 200 && session.count == 43 && session.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" },
                "\(answer("opened"))")
        #expect(status("otherTokenOnSession") == 404 && status("forgedSession") == 404, "\(answer("otherTokenOnSession")) \(answer("forgedSession"))")
        #expect(status("ownTokenOnSession") == 200 && (answer("ownTokenOnSession")["body"] as? String)?.contains("\"tools\":[") == true,
                "\(answer("ownTokenOnSession"))")
        #expect(status("otherBeforeRevoke") == 200, "\(answer("otherBeforeRevoke"))")
        #expect((report["revoke"] as? [Any])?.first as? Int == 0, "\(report["revoke"] ?? "")")
        // The revoked token's open GET stream was ended by the server (its session closed), not left to run.
        #expect(answer("revokedStream")["opened"] as? Bool == true && answer("revokedStream")["ended"] as? Bool == true, "\(answer("revokedStream"))")
        #expect(status("otherAfterRevoke") == 401 && (answer("otherAfterRevoke")["body"] as? String)?.contains("revoked") == true,
                "\(answer("otherAfterRevoke"))")
    }

    static func checkStory(_ report: [String: Any]) {
        let tools = report["tools"] as? [String] ?? []
        #expect(tools.contains("propose_pra_action") && !tools.contains { $0.contains("approve") }, "\(tools)")
        #expect(report["before"] as? String == "inactive", "\(report["before"] ?? "")")
        let progress = report["progress"] as? [[Any]] ?? []
        #expect(progress.count == 1 && progress.first?.first as? Double == 1, "progress on the SSE stream: \(progress)")
        let proposed = report["proposed"] as? [String: Any] ?? [:]
        #expect(proposed["state"] as? String == "PROPOSED" && proposed["proposer"] as? String == "token:claude-ops", "\(proposed)")
        let early = report["early"] as? [String: Any] ?? [:]
        #expect(early["isError"] as? Bool == true, "\(early)")
        #expect((report["approve"] as? [Any])?.first as? Int == 0, "\(report["approve"] ?? "")")
        let executed = report["executed"] as? [String: Any] ?? [:]
        #expect(executed["state"] as? String == "COMPLETED", "\(executed) \(report["executedError"] ?? "")")
        #expect(report["after"] as? String == "active")
        #expect(report["cancelled"] as? String == "CANCELLED", "\(report["cancelled"] ?? "")")
    }
}

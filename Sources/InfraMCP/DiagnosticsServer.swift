import Foundation
import InfraApp
import InfraConfig
import InfraDomain
import InfraSSH
import InfraStore
import Logging
import MCP

/// The MCP server: read-only diagnostic tools over stdio, every call through mcp-reader and mcp-wrapper on
/// an inventory host (there is no local execution path), and the proposal side of approved actions
/// (propose, list, get, execute once approved, cancel; never approve). Every tool call and every SSH exec
/// is written to the chained audit log.
public final class DiagnosticsServer: Sendable {
    let configuration: LoadedConfiguration
    let pool: SSHPool
    let tools: [String: DiagnosticTool]
    let logger: Logger
    /// Hosts one fan-out call reaches at the same time.
    let fanOutWidth: Int
    /// What the last request to each host showed (list_hosts reports it).
    let reachability = ReachabilityLog()
    /// Proposals, decisions and executions.
    let proposals: ProposalStore
    /// The chained audit log.
    let audit: AuditLog
    /// Appends of concurrent calls, committed together.
    let auditWriter: AuditWriter
    /// The OS user this server runs as: the proposer of every action the AI proposes here.
    let user: String
    /// The MCP client's name, from initialize.
    let session = SessionInfo()
    /// The tool calls running now; a stop lets them finish in order.
    let calls = ToolCallTracker()
    /// Propose and execute-and-verify (the application layer this adapter calls).
    var workflow: ActionWorkflow {
        ActionWorkflow(configuration: configuration, store: proposals) { [self] request, host, account, timeout, proposalID, stdin in
            try await exec(request, on: host, account: account, timeout: timeout, proposalID: proposalID, stdin: stdin)
        }
    }

    /// What the server teaches the AI at initialize.
    public static let instructions = """
    mcp-linux-infra lets you diagnose Linux hosts of the operator's inventory, read-only, over SSH.
    Workflow: diagnose with the read-only tools -> propose a remediation action with a rationale -> wait for
    a human to approve it (you cannot approve) -> execute it once approved -> verify with the read-only tools.
    Rules: only inventory hosts exist (call list_hosts first); arguments are checked against each tool's
    inputSchema and refused with an error naming the argument. Never repeat an identical call that failed:
    report the error to the user and stop. Do not retry with variations to get around a refusal.
    Tools whose host argument accepts a group or a comma-separated list return one result per host; a host
    that fails is reported in its own result while the others still answer.
    """

    /// Creates the server for a loaded configuration.
    public init(configuration: LoadedConfiguration, database: StateDatabase, logger: Logger, fanOutWidth: Int = 16) {
        self.configuration = configuration
        self.proposals = ProposalStore(database: database, policy: configuration.settings.approvalPolicy)
        self.audit = AuditLog(database: database)
        self.auditWriter = AuditWriter(database: database)
        self.user = OperatingSystemUser.current
        self.logger = logger
        self.pool = SSHPool(options: SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys, logger: logger)
        self.tools = Dictionary(uniqueKeysWithValues: DiagnosticTools.all.map { ($0.name, $0) })
        self.fanOutWidth = fanOutWidth
    }

    /// Serves MCP on stdin/stdout until the client closes the connection or SIGTERM/SIGINT arrives, then
    /// stops in order (``stop(server:transport:reason:)``). Logs go to stderr only.
    public func serveStdio(version: String) async throws {
        let server = Server(name: "mcp-linux-infra", version: version, title: "mcp-linux-infra",
                            instructions: Self.instructions,
                            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await register(on: server)
        let interrupted = try proposals.recoverInterrupted(actor: "system")
        try audit.append(.init(actor: "mcp:\(user)", kind: "server", outcome: "started",
                               detail: ["pid": String(getpid()), "version": version, "interrupted": interrupted.joined(separator: ",")]))
        if !interrupted.isEmpty { logger.warning("actions left EXECUTING by a stopped server are now INTERRUPTED", metadata: ["ids": "\(interrupted)"]) }
        let stopRequest = StopRequest()
        let calls = self.calls
        // Installed before serving, so a signal that arrives while the transport starts is not lost.
        let signals = TerminationSignals { name, count in
            stopRequest.fire(name)
            // A second signal: stop without waiting for running actions.
            if count > 1 { calls.abandonExecutions() }
        }
        defer { signals.cancel() }
        let session = self.session
        // The SDK's StdioTransport(logger:) would do here once it reads in linear time with a size bound.
        let transport = BoundedStdioTransport(maxMessageBytes: configuration.settings.maxMessageBytes, logger: logger)
        try await server.start(transport: transport) { client, _ in
            await session.setClient(client.name)
        }
        Task {
            await server.waitUntilCompleted()
            stopRequest.fire("the client closed the connection")
        }
        await stop(server: server, transport: transport, reason: await stopRequest.wait())
    }

    /// The stop, in order: take no new call; let running executions finish and record their result within
    /// the grace period (or abandon them, leaving them EXECUTING); close the SSH pool (bounded); let the
    /// remaining calls return and their answers go out; audit the stop; close the transport.
    /// `SSHRuntime.finish` in the command's main runs after this returns.
    func stop(server: Server, transport: BoundedStdioTransport, reason: String) async {
        let grace = configuration.settings.shutdownGrace
        calls.stopAccepting()
        let executing = calls.runningExecutions
        logger.notice("stopping", metadata: ["reason": "\(reason)", "running calls": "\(calls.runningCount)",
                                             "executing": "\(executing)", "grace": "\(grace)"])
        let finished = await calls.waitForExecutions(until: .now + grace)
        let abandoned = finished ? [] : calls.runningExecutions
        if !finished {
            calls.abandonExecutions()
            logger.warning("grace period over: actions still running are left EXECUTING; the next start marks them INTERRUPTED",
                           metadata: ["ids": "\(abandoned)"])
        }
        await pool.shutdown(within: .seconds(2))
        let drained = await calls.waitForAll(until: .now + .seconds(2))
        // A call's answer is written after its handler returned: let the answers already due go out.
        _ = await transport.waitUntilAnswered(until: .now + .seconds(2))
        do {
            try await auditWriter.record(.init(actor: "mcp:\(user)", kind: "server", outcome: "stopped",
                                   detail: ["pid": String(getpid()), "reason": reason, "leftExecuting": abandoned.joined(separator: ","),
                                            "callsStillRunning": drained ? "0" : String(calls.runningCount)]))
        } catch {
            logger.error("audit log unavailable: the stop is not recorded", metadata: ["error": "\(error)"])
        }
        await server.stop()
    }

    /// Registers the tool and resource handlers.
    func register(on server: Server) async {
        let listHosts = Self.listHostsTool
        await server.withMethodHandler(ListTools.self) { _ in
            .init(tools: [listHosts] + DiagnosticTools.all.map(\.mcpTool) + ActionTools.all)
        }
        await server.withMethodHandler(CallTool.self) { [weak self, weak server] parameters in
            guard let self, let server else { return .init(content: [.text(text: "server is shutting down", annotations: nil, _meta: nil)], isError: true) }
            return await self.call(parameters, server: server)
        }
        await server.withMethodHandler(ListResources.self) { [weak self] _ in
            .init(resources: self?.resources.map(\.resource) ?? [])
        }
        await server.withMethodHandler(ReadResource.self) { [weak self] parameters in
            guard let entry = self?.resources.first(where: { $0.resource.uri == parameters.uri }) else {
                throw MCPError.invalidParams("no resource \(parameters.uri); see resources/list")
            }
            return .init(contents: [.text(entry.text, uri: entry.resource.uri, mimeType: entry.resource.mimeType)])
        }
    }

    /// One tools/call: validate, resolve hosts, run through the wrapper, type the answer.
    func call(_ parameters: CallTool.Parameters, server: Server) async -> CallTool.Result {
        let started = ContinuousClock.now
        // The raw id is escaped: a stop that leaves this call running names it in the audit log and on stderr.
        guard let ticket = calls.begin(tool: parameters.name, proposalID: TerminalText.escaped(parameters.arguments?["id"]?.stringValue ?? "")) else {
            return .init(content: [.text(text: "the server is shutting down and takes no new calls; call again once it has restarted",
                                         annotations: nil, _meta: nil)], isError: true)
        }
        defer { calls.end(ticket) }
        var validated = ToolCallAudit()
        let answer = await dispatch(parameters, server: server, validated: &validated)
        // Every call is audited: validated values in the columns, the client's raw arguments escaped and marked
        // (never secrets: the tools take none), outcome, duration.
        do {
            try await auditWriter.record(validated.entry(actor: "mcp:\(user)", name: parameters.name, arguments: parameters.arguments,
                                                         outcome: answer.isError == true ? "error" : "ok",
                                                         durationMs: started.duration(to: .now).milliseconds))
        } catch {
            logger.error("audit log unavailable", metadata: ["error": "\(error)"])
            // The database's own message (SQL text, sometimes a path) stays in the log.
            return .init(content: [.text(text: "audit log unavailable; the call's result is withheld (the server log has the detail)",
                                         annotations: nil, _meta: nil)], isError: true)
        }
        return answer
    }

    /// Routes one tools/call; `validated` gets each value that passed validation, for the call's audit row.
    func dispatch(_ parameters: CallTool.Parameters, server: Server, validated: inout ToolCallAudit) async -> CallTool.Result {
        let started = ContinuousClock.now
        do {
            try ArgumentEnvelope.check(parameters.arguments ?? [:])
            if ActionTools.names.contains(parameters.name) {
                validated.tool = parameters.name
                return try result(try await callAction(parameters.name, parameters.arguments ?? [:], validated: &validated), isError: false)
            }
            if parameters.name == Self.listHostsTool.name {
                validated.tool = parameters.name
                return try result(await listHosts(parameters.arguments ?? [:]), isError: false)
            }
            guard let tool = tools[parameters.name] else { throw ToolCallError.unknownTool(parameters.name) }
            validated.tool = tool.name
            let (expression, words) = try tool.validate(parameters.arguments ?? [:])
            let hosts: [InventoryHost]
            do {
                hosts = try configuration.inventory.resolve(expression)
            } catch {
                throw ToolCallError.unknownHost(error.description)
            }
            if !tool.fansOut && (hosts.count != 1 || configuration.inventory.host(named: expression) == nil) {
                throw ToolCallError.notASingleHost(expression)
            }
            validated.host = expression
            // The host's own lists (inventory), checked before any SSH: the wrapper checks them again.
            for host in hosts {
                let refusal: String? = switch tool.name {
                case "check_http_endpoint": words["url"].flatMap { EgressAllowlist.refusal(url: $0, on: host) }
                case "test_connectivity": words["target"].flatMap { EgressAllowlist.refusal(ping: $0, on: host) }
                case "get_container_logs": words["name"].flatMap { EgressAllowlist.refusal(container: $0, on: host) }
                default: nil
                }
                if let refusal { throw ToolCallError.invalid(refusal) }
            }
            let requests = tool.requests(words)
            let progress = parameters._meta?.progressToken
            let results = await fanOut(hosts) { host in
                try await self.run(tool: tool, requests: requests, on: host)
            } progress: { done, total in
                guard let progress else { return }
                try? await server.notify(ProgressNotification.message(.init(progressToken: progress, progress: Double(done),
                                                                            total: Double(total), message: "\(done) of \(total) hosts")))
            }
            logger.info("tool call", metadata: ["tool": .string(tool.name), "hosts": .stringConvertible(hosts.count),
                                                "failed": .stringConvertible(results.filter { !$0.ok }.count),
                                                "ms": .stringConvertible(started.duration(to: .now).milliseconds)])
            let allFailed = !results.isEmpty && results.allSatisfy { !$0.ok }
            return try result(.object(["results": .array(results.map(\.value))]), isError: allFailed)
        } catch let error as ToolCallError {
            logger.notice("tool call refused", metadata: ["tool": .string(parameters.name), "reason": .string(error.description)])
            return .init(content: [.text(text: error.description, annotations: nil, _meta: nil)], isError: true)
        } catch let error as StoreError {
            logger.notice("action refused", metadata: ["tool": .string(parameters.name), "reason": .string(error.description)])
            return .init(content: [.text(text: error.description, annotations: nil, _meta: nil)], isError: true)
        } catch {
            // The detail goes to the log only: an answer never carries file paths or type names.
            logger.error("tool call failed", metadata: ["tool": .string(parameters.name), "error": .string(String(describing: error))])
            return .init(content: [.text(text: "internal error in \(parameters.name); the server log has the detail", annotations: nil, _meta: nil)],
                         isError: true)
        }
    }

    /// One host's answer.
    struct HostResult: Sendable {
        var host: String
        var ok: Bool
        var data: Value?
        var error: String?
        var duration: Duration

        var value: Value {
            var fields: [String: Value] = ["host": .string(host), "ok": .bool(ok), "durationMs": .int(Int(duration.milliseconds))]
            if let data { fields["data"] = data }
            if let error { fields["error"] = .string(error) }
            return .object(fields)
        }
    }

    /// Runs `work` on every host, at most `fanOutWidth` at a time, in inventory order; failures become results.
    func fanOut(_ hosts: [InventoryHost], work: @escaping @Sendable (InventoryHost) async throws -> Value,
                progress: @escaping @Sendable (Int, Int) async -> Void) async -> [HostResult] {
        await withTaskGroup(of: (Int, HostResult).self) { group in
            var results = [HostResult?](repeating: nil, count: hosts.count)
            var next = 0, done = 0
            func start(_ index: Int) {
                let host = hosts[index]
                group.addTask {
                    let started = ContinuousClock.now
                    do {
                        let data = try await work(host)
                        return (index, HostResult(host: host.name, ok: true, data: data, duration: started.duration(to: .now)))
                    } catch {
                        return (index, HostResult(host: host.name, ok: false, error: String(describing: error), duration: started.duration(to: .now)))
                    }
                }
            }
            while next < min(fanOutWidth, hosts.count) { start(next); next += 1 }
            for await (index, result) in group {
                results[index] = result
                done += 1
                await progress(done, hosts.count)
                if next < hosts.count { start(next); next += 1 }
            }
            return results.compactMap { $0 }
        }
    }

    /// The wrapper requests of one tool on one host, then the typed parse.
    func run(tool: DiagnosticTool, requests: [String], on host: InventoryHost) async throws -> Value {
        var outputs: [String] = []
        for request in requests {
            let answer = try await execute(request, on: host)
            // A non-zero code the tool accepts is an answer only when the program printed no error.
            guard let code = answer.exitCode, code == 0 || (tool.acceptedExitCodes.contains(code) && answer.stderr.isEmpty) else {
                let reason = answer.stderrText.split(separator: "\n").first.map(String.init) ?? "no message"
                throw RemoteFailure(message: "mcp-wrapper exit \(answer.exitCode.map(String.init) ?? "signal \(answer.exitSignal ?? "?")"): \(reason)")
            }
            outputs.append(answer.stdoutText)
        }
        return try tool.parse(outputs)
    }

    /// Exit status of a request the host refused as busy (its account already runs `max-requests` requests).
    static let busyExitCode: Int32 = 73

    /// One SSH exec with either account, audited; a request the host refuses as busy is tried again with
    /// backoff (about 0.2, 0.4, 0.8, 1.6 s, each with random jitter so refused callers do not return
    /// together), each attempt audited, before the busy answer is returned. All attempts share one
    /// deadline, the command timeout from the first: a retry that could not finish before it is not made,
    /// and each attempt gets only the time left.
    func exec(_ request: String, on host: InventoryHost, account: Account, timeout: Duration? = nil,
              proposalID: String = "", stdin: [UInt8] = []) async throws -> ExecResult {
        let deadline = ContinuousClock.now + (timeout ?? configuration.settings.commandTimeout)
        var delay = Duration.milliseconds(200)
        var answer = try await execOnce(request, on: host, account: account, timeout: deadline - .now, proposalID: proposalID, stdin: stdin)
        for _ in 0..<4 where answer.exitCode == Self.busyExitCode {
            let pause = delay / 2 + .milliseconds(Int.random(in: 0...Int(delay.milliseconds / 2)))
            // Time for the pause and at least as long again for the attempt itself; else the busy answer stands.
            guard deadline - .now > pause * 2 else { break }
            try await Task.sleep(for: pause)
            delay *= 2
            answer = try await execOnce(request, on: host, account: account, timeout: deadline - .now, proposalID: proposalID, stdin: stdin)
        }
        return answer
    }

    /// One SSH exec with either account, audited (host, account, verb, exit, duration, bytes).
    func execOnce(_ request: String, on host: InventoryHost, account: Account, timeout: Duration? = nil,
                  proposalID: String = "", stdin: [UInt8] = []) async throws -> ExecResult {
        let started = ContinuousClock.now
        let credentials = configuration.credentials(for: account)
        var detail = ["account": credentials.user, "verb": String(request.split(separator: " ").first ?? ""), "request": request]
        do {
            if !stdin.isEmpty { detail["stdinBytes"] = String(stdin.count) }
            let answer = try await pool.execute(host: host, credentials: credentials, command: request, stdin: stdin, timeout: timeout)
            detail["exit"] = answer.exitCode.map(String.init) ?? "signal \(answer.exitSignal ?? "?")"
            detail["durationMs"] = String(started.duration(to: .now).milliseconds)
            detail["stdoutBytes"] = String(answer.stdout.count)
            detail["stderrBytes"] = String(answer.stderr.count)
            try await auditWriter.record(.init(actor: "mcp:\(user)", kind: "ssh", host: host.name, proposalID: proposalID,
                                   outcome: answer.exitCode == 0 ? "ok" : "exit", detail: detail))
            return answer
        } catch let error as SSHError {
            detail["error"] = String(describing: error)
            detail["durationMs"] = String(started.duration(to: .now).milliseconds)
            try await auditWriter.record(.init(actor: "mcp:\(user)", kind: "ssh", host: host.name, proposalID: proposalID, outcome: "unreachable", detail: detail))
            throw error
        }
    }

    /// One request through the reader account, its outcome noted in ``reachability``.
    func execute(_ request: String, on host: InventoryHost) async throws -> ExecResult {
        let started = ContinuousClock.now
        do {
            let answer = try await exec(request, on: host, account: .reader)
            let detail = answer.exitCode == 0 && request == "version"
                ? answer.stdoutText.split(separator: "\n").first.map(String.init) ?? "" : "forced command answered"
            await reachability.record(host.name, reachable: true, detail: detail, latency: started.duration(to: .now))
            return answer
        } catch {
            await reachability.record(host.name, reachable: false, detail: String(describing: error), latency: started.duration(to: .now))
            throw error
        }
    }

    struct RemoteFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// The structured result plus the same JSON as text.
    func result(_ value: Value, isError: Bool) throws -> CallTool.Result {
        let text = Self.json(value)
        return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: Optional<Value>.some(value), isError: isError ? true : nil)
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

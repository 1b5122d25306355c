import Foundation
import InfraApp
import InfraDomain
import Logging
import MCP

/// The MCP server, whatever its transport: the read-only diagnostic tools and the proposal side of approved
/// actions (propose, list, get, execute once approved, cancel; never approve), as MCP tools and resources
/// over InfraApp's use cases. Every tool call is audited; every rule lives in InfraApp or the domain.
///
/// One instance serves the whole process. stdio serves one session on ``BoundedStdioTransport``
/// (``serveStdio(version:)``); the HTTP front asks ``session(for:)`` for one swift-sdk `Server` per MCP
/// session and stops them all in order with ``drain(reason:)`` and ``recordStop(reason:drained:)``.
public final class MCPServer: Sendable {
    let services: ServerServices
    let tools: [String: DiagnosticTool]
    let logger: Logger
    /// The tool calls running now, in every session; a stop lets them finish in order.
    let calls = ToolCallTracker()
    /// The periodic store sweep (interrupted runs, expiry), from the start until the drain.
    let sweeping = StoreSweep.Runner()

    /// True between ``started(version:)`` and ``drain(reason:)``: the store sweep runs.
    public var isSweeping: Bool { sweeping.isRunning }

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

    /// Creates the server over the application's services.
    public init(services: ServerServices, logger: Logger) {
        self.services = services
        self.logger = logger
        self.tools = Dictionary(uniqueKeysWithValues: DiagnosticTools.all.map { ($0.name, $0) })
    }

    /// Serves MCP on stdin/stdout until the client closes the connection or SIGTERM/SIGINT arrives, then
    /// stops in order. Logs go to stderr only.
    public func serveStdio(version: String) async throws {
        // The SDK's StdioTransport(logger:) would do here once it reads in linear time with a size bound.
        try await serve(transport: BoundedStdioTransport(maxMessageBytes: services.limits.maxMessageBytes, logger: logger), version: version)
    }

    /// The same stdio server on other descriptors, without signal handlers: bench/CallBench drives it over pipes.
    package func serveStdio(version: String, input: Int32, output: Int32) async throws {
        try await serve(transport: BoundedStdioTransport(maxMessageBytes: services.limits.maxMessageBytes, input: input, output: output,
                                                         logger: logger),
                        version: version, handlingSignals: false)
    }

    /// Serves one MCP session on `transport`, for the OS account this server runs as, until it closes or (with
    /// `handlingSignals`) SIGTERM/SIGINT arrives, then stops in order.
    public func serve(transport: any Transport, version: String, handlingSignals: Bool = true) async throws {
        let identity = SessionIdentity(name: services.workflow.localCaller(client: "").name)
        let server = await makeServer(version: version, identity: identity)
        try await started(version: version)
        let stopRequest = StopRequest()
        let calls = self.calls
        // Installed before serving, so a signal that arrives while the transport starts is not lost.
        let signals = handlingSignals ? TerminationSignals(handler: { name, count in
            stopRequest.fire(name)
            // A second signal: stop without waiting for running actions.
            if count > 1 { calls.abandonExecutions() }
        }) : nil
        defer { signals?.cancel() }
        try await server.start(transport: transport) { client, _ in
            await identity.setClient(client.name)
        }
        Task {
            await server.waitUntilCompleted()
            stopRequest.fire("the client closed the connection")
        }
        let reason = await stopRequest.wait()
        let drained = await drain(reason: reason)
        // A call's answer is written after its handler returned: let the answers already due go out.
        if let answered = transport as? BoundedStdioTransport { _ = await answered.waitUntilAnswered(until: .now + .seconds(2)) }
        await recordStop(reason: reason, drained: drained)
        await server.stop()
    }

    /// Starts one MCP session on `transport` for the caller `name` (already authenticated by the adapter) and
    /// returns its swift-sdk server, which the adapter stops when the session ends.
    public func startSession(for name: String, on transport: any Transport, version: String) async throws -> Server {
        let identity = SessionIdentity(name: name)
        let server = await makeServer(version: version, identity: identity)
        try await server.start(transport: transport) { client, _ in
            await identity.setClient(client.name)
        }
        return server
    }

    /// Records the start (and marks INTERRUPTED what a stopped server left EXECUTING), then starts the periodic
    /// store sweep, which the drain stops; once per process.
    public func started(version: String) async throws {
        let interrupted = try await services.lifecycle.started(version: version)
        if !interrupted.isEmpty { logger.warning("actions left EXECUTING by a stopped server are now INTERRUPTED", metadata: ["ids": "\(interrupted)"]) }
        sweeping.start(services.lifecycle.sweep, logger: logger)
    }

    /// What a drain left behind, for the stop's audit row.
    public struct Drained: Sendable {
        /// Executions still running when the grace period ran out (left EXECUTING).
        public var abandoned: [String]
        /// Calls still running after the drain.
        public var callsStillRunning: Int

        /// A drain's outcome.
        public init(abandoned: [String], callsStillRunning: Int) {
            self.abandoned = abandoned
            self.callsStillRunning = callsStillRunning
        }
    }

    /// The stop, in order: take no new call and stop the store sweep; let running executions finish and record their result within
    /// the grace period (or abandon them, leaving them EXECUTING); close the SSH connections (bounded); let
    /// the remaining calls return. The caller then lets the answers go out and calls ``recordStop(reason:drained:)``.
    public func drain(reason: String) async -> Drained {
        let grace = services.limits.shutdownGrace
        calls.stopAccepting()
        await sweeping.stop()
        let executing = calls.runningExecutions
        logger.notice("stopping", metadata: ["reason": "\(reason)", "running calls": "\(calls.runningCount)",
                                             "executing": "\(executing)", "grace": "\(grace)"])
        let finished = await calls.waitForExecutions(until: .now + grace)
        let abandoned = finished ? [] : calls.runningExecutions
        if !finished {
            calls.abandonExecutions()
            logger.warning("grace period over: running actions stay EXECUTING until their lease passes; then any server marks them INTERRUPTED",
                           metadata: ["ids": "\(abandoned)"])
        }
        await services.closeConnections(within: .seconds(2))
        let drained = await calls.waitForAll(until: .now + .seconds(2))
        return Drained(abandoned: abandoned, callsStillRunning: drained ? 0 : calls.runningCount)
    }

    /// Audits the stop (the last row of this process).
    public func recordStop(reason: String, drained: Drained) async {
        do {
            try await services.lifecycle.stopped(reason: reason, leftExecuting: drained.abandoned, callsStillRunning: drained.callsStillRunning)
        } catch {
            logger.error("audit log unavailable: the stop is not recorded", metadata: ["error": "\(error)"])
        }
    }

    /// A swift-sdk server with this server's tools and resources, for `identity`.
    func makeServer(version: String, identity: SessionIdentity) async -> Server {
        let server = Server(name: "mcp-linux-infra", version: version, title: "mcp-linux-infra",
                            instructions: Self.instructions,
                            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await register(on: server, identity: identity)
        return server
    }

    /// Registers the tool and resource handlers.
    func register(on server: Server, identity: SessionIdentity) async {
        let listHosts = Self.listHostsTool
        await server.withMethodHandler(ListTools.self) { _ in
            .init(tools: [listHosts] + DiagnosticTools.all.map(\.mcpTool) + ActionTools.all)
        }
        await server.withMethodHandler(CallTool.self) { [weak self, weak server] parameters in
            guard let self, let server else { return .init(content: [.text(text: "server is shutting down", annotations: nil, _meta: nil)], isError: true) }
            return await self.call(parameters, server: server, identity: identity)
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
}

import ArgumentParser
import BenchSupport
import Foundation
import InfraApp
import InfraConfig
import InfraDomain
import InfraMCP
import InfraSSH
import Logging
import MCP

/// Where a warm `get_memory_info` call spends its time.
///
/// The real server runs in this process, built by the composition root as `serve` builds it, and speaks
/// MCP over its own stdio transport on two pipes: the total is from writing the request line to reading the
/// whole answer line. The SSH round trip (around the remote port, i.e. `SSHPool.execute`) and the audit
/// commits (around the SQLite sink) are timed inside those same calls by wrappers around the two ports.
/// The CPU-only phases (decode, validation, parse, encode) are timed by running the server's own functions
/// on the same request and output many times; what is left of the total is the rest (the SDK's dispatch,
/// tasks, the transport, logging). Next to it: OpenSSH ControlMaster execs of the same wrapper request and
/// of the bare `cat /proc/meminfo` (a second key of the same account, without forced command), the libssh2
/// pool running the bare command, and the wrapper run locally as the account. Not a test: numbers vary.
@main
struct CallBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "call-bench",
                                                    abstract: "Per-phase time of a warm tool call, next to OpenSSH ControlMaster.")

    @Option(help: "The .env of the target (the loopback target writes one).")
    var envFile: String

    @Option(help: "A private key of the reader account whose authorized_keys line has no forced command (the bare baseline).")
    var bareKey: String

    @Option(help: "The installed mcp-wrapper, to time it locally as the reader account (optional).")
    var wrapper: String?

    @Option(help: "Measured calls per scenario.")
    var iterations = 50

    @Option(help: "Runs of each in-process phase.")
    var phaseRuns = 500

    static let tool = "get_memory_info"
    static let request = "memory"
    static let bareCommand = "cat /proc/meminfo"

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let spans = Spans()
        let services = try InfraComposition.server(envFile: envFile, logLabel: "call-bench", probes: .init(
            remote: { TimedRemote(inner: $0, spans: spans) }, audit: { TimedAudit(inner: $0, spans: spans) }))
        let configuration = try ConfigurationLoader.load(environment: [:], envFile: envFile)
        let host = configuration.inventory.hosts[0]
        let server = MCPServer(services: services, logger: Logger(label: "call-bench"))

        // 1. Warm calls through the real server.
        progress("warm \(Self.tool) calls through the server")
        let calls = try await Self.callThroughServer(server, host: host.name, iterations: iterations, spans: spans)
        guard let output = spans.lastStdout else { throw BenchError(message: "no SSH answer was seen") }

        // 2. The CPU-only phases, on the same request and output.
        progress("in-process phases")
        let phases = try Phases(server: server, services: services, host: host.name, output: output, runs: phaseRuns)

        // 3. The baselines.
        progress("OpenSSH ControlMaster and the libssh2 pool")
        let reader = configuration.reader
        let knownHosts = configuration.settings.knownHostsPath
        let forced = OpenSSH(host: host, user: reader.user, privateKeyPath: reader.privateKeyPath ?? "", knownHosts: knownHosts)
        let bare = OpenSSH(host: host, user: reader.user, privateKeyPath: bareKey, knownHosts: knownHosts)
        let masterWrapper = try await Self.controlMaster(forced, command: Self.request, tag: "wrapper", iterations: iterations)
        let masterBare = try await Self.controlMaster(bare, command: Self.bareCommand, tag: "bare", iterations: iterations)
        let pooledBare = try await Self.pooledBare(configuration, host: host, bareKey: bareKey, iterations: iterations)
        var local: (wrapper: [Duration], bare: [Duration])?
        if let wrapper {
            progress("the wrapper run locally as \(reader.user)")
            local = try Self.localRuns(wrapper: wrapper, user: reader.user, iterations: iterations)
        }

        Report(iterations: iterations, phaseRuns: phaseRuns, calls: calls, phases: phases, masterWrapper: masterWrapper,
               masterBare: masterBare, pooledBare: pooledBare, local: local).print()
    }

    /// Runs the benchmark, then ends the process only after the last SSH I/O thread (docs/ARCHITECTURE.md).
    static func main() async {
        await runThenEnd(Self.self)
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("measuring: \(text)\n".utf8))
    }

    // MARK: - The server, end to end

    /// What one measured call showed.
    struct Call {
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant
        var ssh: [Span]
        var audit: [Span]
        var total: Duration { start.duration(to: end) }

        /// The call's timeline in segments: request in -> SSH start -> SSH end -> first commit start -> first
        /// commit end -> second commit start -> second commit end -> answer out (nil unless one SSH span and
        /// two commits, in that order).
        var segments: [Duration]? {
            guard ssh.count == 1, audit.count == 2 else { return nil }
            let marks = [start, ssh[0].start, ssh[0].end, audit[0].start, audit[0].end, audit[1].start, audit[1].end, end]
            guard zip(marks, marks.dropFirst()).allSatisfy({ $0 <= $1 }) else { return nil }
            return zip(marks, marks.dropFirst()).map { $0.duration(to: $1) }
        }
    }

    /// Starts the server on two pipes, initializes a session, makes `iterations` measured calls after five
    /// unmeasured ones (the pool connects on the first), then closes the session and waits for the stop.
    static func callThroughServer(_ server: MCPServer, host: String, iterations: Int, spans: Spans) async throws -> [Call] {
        var toServer: [Int32] = [0, 0], fromServer: [Int32] = [0, 0]
        guard pipe(&toServer) == 0, pipe(&fromServer) == 0 else { throw BenchError(message: "pipe failed: errno \(errno)") }
        let (serverIn, clientOut, clientIn, serverOut) = (toServer[0], toServer[1], fromServer[0], fromServer[1])
        let serving = Task { try await server.serveStdio(version: "call-bench", input: serverIn, output: serverOut) }
        let client = LineClient(output: clientOut, input: clientIn)
        // The client blocks on its pipe: on a thread of its own, never on the server's cooperative pool.
        let measured = await onThread { () throws -> [Call] in
            try client.send(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"call-bench","version":"1"}}}"#)
            _ = try client.readLine()
            try client.send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            var calls: [Call] = []
            for index in 1...(iterations + 5) {
                _ = spans.take()
                let line = Phases.requestLine(id: index, host: host)
                let started = ContinuousClock.now
                try client.send(line)
                let answer = try client.readLine()
                let ended = ContinuousClock.now
                let text = String(decoding: answer, as: UTF8.self)
                guard text.contains(#""id":\#(index)"#), text.contains(#""result""#), !text.contains(#""isError":true"#) else {
                    throw BenchError(message: "call \(index) failed: \(text.prefix(400))")
                }
                let (ssh, audit) = spans.take()
                if index > 5 { calls.append(Call(start: started, end: ended, ssh: ssh, audit: audit)) }
            }
            return calls
        }
        // End of input stops the server in order (drain, SSH closed, stop audited), failed or not.
        close(clientOut)
        let served = await serving.result
        for fd in [serverIn, clientIn, serverOut] { close(fd) }
        try served.get()
        return try measured.get()
    }

    // MARK: - Baselines

    /// `iterations` execs of `command` through one ControlMaster, after one unmeasured exec.
    static func controlMaster(_ client: OpenSSH, command: String, tag: String, iterations: Int) async throws -> [Duration] {
        let master = try await client.startMaster(tag: tag)
        func measure() async throws -> [Duration] {
            guard try await client.run(command, extra: ["-S", master.socket]) == 0 else {
                throw BenchError(message: "ControlMaster exec of '\(command)' failed")
            }
            var samples: [Duration] = []
            for _ in 0..<iterations {
                let started = ContinuousClock.now
                let status = try await client.run(command, extra: ["-S", master.socket])
                samples.append(started.duration(to: .now))
                guard status == 0 else { throw BenchError(message: "ControlMaster exec of '\(command)' exited \(status)") }
            }
            return samples
        }
        // The master is stopped once, by its PID, whatever happened.
        do {
            let samples = try await measure()
            await master.stop()
            return samples
        } catch {
            await master.stop()
            throw error
        }
    }

    /// The libssh2 pool running the bare command with the bare key: the SSH round trip without the wrapper.
    static func pooledBare(_ configuration: LoadedConfiguration, host: InventoryHost, bareKey: String,
                           iterations: Int) async throws -> [Duration] {
        var credentials = configuration.reader
        let publicLine = try String(contentsOfFile: bareKey + ".pub", encoding: .utf8)
        credentials.publicKey = try SSHPublicKey.parseLine(publicLine.trimmingCharacters(in: .whitespacesAndNewlines))
        credentials.publicKeyPath = bareKey + ".pub"
        credentials.privateKeyPath = bareKey
        credentials.agentSocket = nil
        return try await SSHPool.with(options: SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys,
                                      logger: Logger(label: "call-bench")) { pool in
            _ = try await pool.execute(host: host, credentials: credentials, command: bareCommand)
            var samples: [Duration] = []
            for _ in 0..<iterations {
                let started = ContinuousClock.now
                let answer = try await pool.execute(host: host, credentials: credentials, command: bareCommand)
                samples.append(started.duration(to: .now))
                guard answer.exitCode == 0 else { throw BenchError(message: "pooled bare exec failed: \(answer.stderrText)") }
            }
            return samples
        }
    }

    /// The wrapper's own cost on the target: `mcp-wrapper` answering `memory` run locally as the account
    /// (setpriv, an empty environment, the request in SSH_ORIGINAL_COMMAND), next to a bare `cat` the same way.
    static func localRuns(wrapper: String, user: String, iterations: Int) throws -> (wrapper: [Duration], bare: [Duration]) {
        guard let account = getpwnam(user) else { throw BenchError(message: "no account \(user)") }
        let asUser = ["--reuid=\(account.pointee.pw_uid)", "--regid=\(account.pointee.pw_gid)", "--init-groups", "--", "/usr/bin/env", "-i"]
        func time(_ arguments: [String]) throws -> [Duration] {
            var samples: [Duration] = []
            for index in 0...iterations {
                let started = ContinuousClock.now
                let status = Spawn.wait(try Spawn.start("/usr/bin/setpriv", asUser + arguments))
                if index > 0 { samples.append(started.duration(to: .now)) }
                guard status == 0 else { throw BenchError(message: "local run of \(arguments) exited \(status)") }
            }
            return samples
        }
        return (try time(["SSH_ORIGINAL_COMMAND=\(request)", wrapper, "--role=reader"]), try time(["/bin/cat", "/proc/meminfo"]))
    }
}

// MARK: - Probes around the two ports

/// One span a port wrapper saw: when it started and ended.
struct Span: Sendable {
    var start: ContinuousClock.Instant
    var end: ContinuousClock.Instant
    var duration: Duration { start.duration(to: end) }
}

/// The spans the port wrappers saw since the last ``take()``.
final class Spans: @unchecked Sendable {
    private let lock = NSLock()
    private var ssh: [Span] = []
    private var audit: [Span] = []
    private var stdout: [UInt8]?

    func addSSH(_ span: Span, stdout: [UInt8]) {
        lock.withLock {
            ssh.append(span)
            self.stdout = stdout
        }
    }

    func addAudit(_ span: Span) {
        lock.withLock { audit.append(span) }
    }

    /// The spans so far, cleared.
    func take() -> (ssh: [Span], audit: [Span]) {
        lock.withLock {
            defer { ssh = []; audit = [] }
            return (ssh, audit)
        }
    }

    /// The last SSH answer's output (the wrapper's `memory` output, for the parse phase).
    var lastStdout: String? {
        lock.withLock { stdout.map { String(decoding: $0, as: UTF8.self) } }
    }
}

/// The remote port, each request timed: around `SSHPool.execute` (pool acquire, channel open, exec, the
/// target's forced command, close: one span).
struct TimedRemote: RemoteExec {
    let inner: any RemoteExec
    let spans: Spans

    func run(_ request: RemoteRequest) async throws -> ExecResult {
        let started = ContinuousClock.now
        let answer = try await inner.run(request)
        spans.addSSH(Span(start: started, end: .now), stdout: answer.stdout)
        return answer
    }

    func authenticationMethod(host: String, user: String) async -> String? { await inner.authenticationMethod(host: host, user: user) }
    func shutdown(within limit: Duration) async { await inner.shutdown(within: limit) }
    func load() async -> RemoteLoad { await inner.load() }
}

/// The audit sink, each commit timed (one SQLite transaction, the recorder's group commit).
struct TimedAudit: AuditSink {
    let inner: any AuditSink
    let spans: Spans

    func append(_ records: [AuditChain.Record]) async throws {
        let started = ContinuousClock.now
        try await inner.append(records)
        spans.addAudit(Span(start: started, end: .now))
    }

    func records(_ filter: AuditFilter) throws -> [AuditChain.Record] { try inner.records(filter) }
    func head() throws -> AuditChain.Anchor? { try inner.head() }
}

// MARK: - The CPU-only phases

/// The server's own functions for each CPU-only phase of the call, run `runs` times each on the same request
/// and output.
struct Phases {
    var decode: [Duration] = []
    var validate: [Duration] = []
    var parse: [Duration] = []
    var encode: [Duration] = []
    var responseCheck: [Duration] = []
    var auditRow: [Duration] = []

    /// The request line of one `get_memory_info` call.
    static func requestLine(id: Int, host: String) -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(CallBench.tool)","arguments":{"host":"\#(host)"}}}"#
    }

    init(server: MCPServer, services: ServerServices, host: String, output: String, runs: Int) throws {
        guard let tool = DiagnosticTools.all.first(where: { $0.name == CallBench.tool }) else {
            throw BenchError(message: "no tool \(CallBench.tool)")
        }
        let line = Array(Self.requestLine(id: 7, host: host).utf8)
        let decoder = JSONDecoder()
        let plainEncoder = JSONEncoder()
        let sdkEncoder = JSONEncoder()
        sdkEncoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var parameters: CallTool.Parameters?
        var response = Data()
        for _ in 0..<runs {
            // The transport's screen, then what the SDK does: decode the request (type-erased), encode it
            // again and decode it as the typed request for the handler.
            var started = ContinuousClock.now
            guard case .request = MessageScreen.screen(line) else { throw BenchError(message: "the screen refused the request") }
            let erased = try decoder.decode(Request<CallTool>.self, from: Data(line))
            let typed = try decoder.decode(Request<CallTool>.self, from: try plainEncoder.encode(erased))
            decode.append(started.duration(to: .now))
            parameters = typed.params

            // The argument envelope, the tool's arguments, the inventory (as dispatch, diagnose and run do).
            started = ContinuousClock.now
            let arguments = typed.params.arguments ?? [:]
            try ArgumentEnvelope.check(arguments)
            let (expression, _) = try tool.validate(arguments)
            _ = try services.diagnostics.hosts(expression, single: !tool.fansOut)
            _ = try services.diagnostics.hosts(expression, single: !tool.fansOut)
            validate.append(started.duration(to: .now))

            started = ContinuousClock.now
            let data = try tool.parse([output])
            parse.append(started.duration(to: .now))

            // The tool's result (structured + the same JSON as text), then the SDK: result -> Value, response.
            started = ContinuousClock.now
            let value: Value = .object(["results": .array([.object(["host": .string(host), "ok": true, "durationMs": 3, "data": data])])])
            let result = try server.result(value, isError: false)
            let generic = try decoder.decode(Value.self, from: try plainEncoder.encode(result))
            response = try sdkEncoder.encode(Value.object(["jsonrpc": "2.0", "id": 7, "result": generic]))
            encode.append(started.duration(to: .now))

            // One audit row as the sink writes it inside its transaction: detail JSON, timestamp, hash chain.
            started = ContinuousClock.now
            var row = AuditChain.Record(actor: "server:bench", kind: "ssh", host: host, outcome: "ok",
                                        detail: ["account": "mcp-reader", "verb": "memory", "request": "memory", "exit": "0",
                                                 "durationMs": "3", "stdoutBytes": "1500", "stderrBytes": "0"])
            row.seq = 42
            row.at = AuditChain.timestamp(Date())
            _ = AuditChain.seal(row, previousHash: AuditChain.genesis)
            auditRow.append(started.duration(to: .now))

            // The stdio transport's check of each outgoing message (is it a response?).
            started = ContinuousClock.now
            guard MessageScreen.isResponse(response) else { throw BenchError(message: "the response check failed") }
            responseCheck.append(started.duration(to: .now))
        }
        guard parameters?.name == CallBench.tool else { throw BenchError(message: "decoded the wrong tool") }
    }
}

// MARK: - The report

struct Report {
    let iterations: Int
    let phaseRuns: Int
    let calls: [CallBench.Call]
    let phases: Phases
    let masterWrapper: [Duration]
    let masterBare: [Duration]
    let pooledBare: [Duration]
    let local: (wrapper: [Duration], bare: [Duration])?

    func print() {
        let total = median(calls.map(\.total))
        let timed = calls.compactMap(\.segments)
        let cmWrapper = median(masterWrapper), cmBare = median(masterBare), pool = median(pooledBare)
        func row(_ name: String, _ ms: Double, share: Bool = true) {
            let percent = share ? String(format: " %6.1f %%", ms / total * 100) : ""
            Swift.print(name.padding(toLength: 72, withPad: " ", startingAt: 0) + String(format: "%9.3f ms", ms) + percent)
        }
        Swift.print("warm \(CallBench.tool) through the real server (stdio transport on pipes): the call's timeline, medians")
        let names = ["request in -> SSH starts (transport, SDK decode/dispatch, validation)",
                     "SSH round trip (SSHPool.execute: acquire, channel, exec, target)",
                     "SSH answer -> audit commit 1 starts",
                     "audit commit 1: the ssh row (SQLite transaction)",
                     "commit 1 -> commit 2 starts (parse, tool row)",
                     "audit commit 2: the tool row (SQLite transaction)",
                     "commit 2 -> answer line read (encode, SDK, transport)"]
        for (index, name) in names.enumerated() { row(name, median(timed.map { $0[index] })) }
        row("total warm call (request line written -> answer line read)", total)
        Swift.print("(\(timed.count) of \(calls.count) calls had one SSH span and two commits in that order)")
        Swift.print("")
        Swift.print("CPU-only phases, the server's own functions on the same request and output, medians")
        row("JSON-RPC decode (screen, SDK decode + re-encode + typed decode)", median(phases.decode))
        row("argument validation (envelope, tool arguments, inventory x2)", median(phases.validate))
        row("output parse (/proc/meminfo -> typed result)", median(phases.parse))
        row("result encode (text JSON, SDK result -> Value -> response)", median(phases.encode))
        row("transport's response check (MessageScreen.isResponse)", median(phases.responseCheck))
        row("one audit row: detail JSON, timestamp, hash (in each commit)", median(phases.auditRow))
        Swift.print("")
        Swift.print("baselines, medians")
        row("ControlMaster exec of the wrapper request '\(CallBench.request)'", cmWrapper, share: false)
        row("ControlMaster exec of bare '\(CallBench.bareCommand)'", cmBare, share: false)
        row("libssh2 pool exec of bare '\(CallBench.bareCommand)'", pool, share: false)
        row("-> the wrapper on the target (SSH round trip - pooled bare)", median(calls.map { $0.ssh.map(\.duration).reduce(.zero, +) }) - pool,
            share: false)
        if let local {
            row("mcp-wrapper memory run locally as the account (setpriv)", median(local.wrapper), share: false)
            row("cat /proc/meminfo run locally as the account (setpriv)", median(local.bare), share: false)
        }
        Swift.print("")
        verdict("total / ControlMaster bare", total / cmBare, goal: 1.5)
        verdict("total / ControlMaster wrapper request", total / cmWrapper, goal: 1.0)
        Swift.print("(\(iterations) measured calls and execs each; CPU-only phases: medians of \(phaseRuns) runs)")
    }

    private func verdict(_ name: String, _ ratio: Double, goal: Double) {
        Swift.print(name.padding(toLength: 72, withPad: " ", startingAt: 0)
                    + String(format: "%9.2f x  goal <= %.1f %@", ratio, goal, ratio <= goal ? "met" : "MISSED"))
    }
}

// MARK: - Plumbing

/// A JSON-RPC client on two pipe ends, one message per line, blocking.
final class LineClient: @unchecked Sendable {
    private let output: Int32
    private let input: Int32
    private var buffer: [UInt8] = []

    init(output: Int32, input: Int32) {
        self.output = output
        self.input = input
    }

    func send(_ line: String) throws {
        let bytes = Array(line.utf8) + [0x0A]
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw BenchError(message: "writing to the server failed: errno \(errno)") }
            offset += written
        }
    }

    func readLine() throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw BenchError(message: "the server closed its output") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}

/// Runs `body` on a thread of its own and returns its result.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, any Error> {
    await withCheckedContinuation { (done: CheckedContinuation<Result<T, any Error>, Never>) in
        let thread = Thread { done.resume(returning: Result { try body() }) }
        thread.name = "call-bench client"
        thread.start()
    }
}

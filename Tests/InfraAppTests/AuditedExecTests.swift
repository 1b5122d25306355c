import Foundation
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

@Suite("AuditedExec: the busy rule, one deadline, an audit row per attempt")
struct AuditedExecTests {
    let store = InMemoryStore()
    let remote = FakeRemoteExec()
    let host = InventoryHost(name: "web1", address: "192.0.2.11")
    /// The busy rule's time: pauses pass at once and are recorded, whatever the machine's load.
    let time = ManualTiming()
    let exec: AuditedExec

    init() {
        exec = AuditedExec(remote: remote, recorder: AuditRecorder(sink: store), actor: "mcp:svc",
                           users: { $0 == .reader ? "mcp-reader" : "pra-runner" }, defaultTimeout: .seconds(5), clock: time.timing)
    }

    @Test("A busy answer is tried again; the second answer is returned; each attempt has its row (account, verb, exit, stdin size), never output")
    func busyThenOK() async throws {
        remote.on(account: .runner, .busy, .ok("secret output"))
        let answer = try await exec.run("restart_service unit=nginx.service id=p1", on: host, account: .runner, timeout: .seconds(5),
                                        proposalID: "p1", stdin: Array("approval a b\n".utf8))
        #expect(answer.exitCode == 0 && answer.stdoutText == "secret output")
        #expect(remote.requests.count == 2 && remote.requests.allSatisfy { $0.stdin == Array("approval a b\n".utf8) })
        let rows = store.chain
        try #require(rows.count == 2, "\(rows)")
        #expect(rows.map(\.outcome) == ["exit", "ok"] && rows.map { $0.details["exit"] } == ["73", "0"])
        #expect(time.sleeps.count == 1 && (Duration.milliseconds(100)...Duration.milliseconds(200)).contains(time.sleeps[0]), "\(time.sleeps)")
        #expect(rows.allSatisfy { $0.kind == "ssh" && $0.actor == "mcp:svc" && $0.host == "web1" && $0.proposalID == "p1" })
        #expect(rows.allSatisfy { $0.details["account"] == "pra-runner" && $0.details["verb"] == "restart_service" && $0.details["stdinBytes"] == "13" })
        #expect(rows[1].details["stdoutBytes"] == "13" && !rows.contains { $0.detail.contains("secret") })
    }

    @Test("Busy every time: the attempts share one deadline (each gets only the time left) and the busy answer stands")
    func oneDeadline() async throws {
        remote.on(account: .reader, .busy)
        let answer = try await exec.run("processes", on: host, account: .reader, timeout: .seconds(1))
        #expect(answer.exitCode == TargetExitCode.busy.rawValue)
        let attempts = remote.requests, pauses = time.sleeps
        // Backoff of at least 0.1 s, then 0.2 s, each needing as long again left: at most three attempts fit in a second
        // (five without a deadline).
        #expect((2...3).contains(attempts.count), "\(attempts.count) attempts")
        #expect(pauses.count == attempts.count - 1, "\(pauses)")
        // Every attempt ends at the deadline the first one set: its timeout is the second less the pauses before it, not
        // a new second.
        for (index, attempt) in attempts.enumerated() {
            #expect(attempt.timeout == .seconds(1) - pauses.prefix(index).reduce(.zero, +), "attempt \(index): \(attempt.timeout), pauses \(pauses)")
        }
        #expect(attempts.allSatisfy { $0.timeout > .zero && $0.timeout <= .seconds(1) }, "\(attempts.map(\.timeout))")
        #expect(store.chain.count == attempts.count && store.chain.allSatisfy { $0.details["exit"] == "73" && $0.outcome == "exit" })
    }

    @Test("A deadline too short for a pause and another attempt: one attempt, its busy answer returned")
    func noTimeToRetry() async throws {
        remote.on(account: .reader, .busy, .ok())
        // The shortest pause (0.1 s) needs as long again after it: 150 ms never allow a second attempt.
        let answer = try await exec.run("processes", on: host, account: .reader, timeout: .milliseconds(150))
        #expect(answer.exitCode == 73 && remote.requests.count == 1 && store.chain.count == 1)
    }

    @Test("No answer: the failure is rethrown after its 'unreachable' row, and the reader's reachability records it")
    func unreachable() async throws {
        remote.on(host: "web1", .failure("connect to 192.0.2.11 port 22: timed out"))
        await #expect(throws: RemoteFailure("connect to 192.0.2.11 port 22: timed out")) {
            _ = try await exec.read("processes", on: host)
        }
        let row = try #require(store.chain.first)
        #expect(row.outcome == "unreachable" && row.details["error"] == "connect to 192.0.2.11 port 22: timed out" && row.details["account"] == "mcp-reader")
        let seen = await exec.reachability.observation(of: "web1")
        #expect(seen?.reachable == false && seen?.detail.contains("timed out") == true)
        // Any answer of the forced command means reachable; the version's first line is kept.
        remote.on(host: "web1", request: "version", .ok("mcp-wrapper 1.0.0 role=reader\nsha256 x y\n"))
        _ = try await exec.read("version", on: host)
        let again = await exec.reachability.observation(of: "web1")
        #expect(again?.reachable == true && again?.detail == "mcp-wrapper 1.0.0 role=reader")
    }
}

@Suite("Diagnostics: the egress lists before any request, the fan-out with each host's own result")
struct DiagnosticsTests {
    let fixture: UseCaseFixture
    init() throws { fixture = try UseCaseFixture() }

    var diagnostics: Diagnostics {
        Diagnostics(exec: fixture.exec, inventory: fixture.inventory, width: 2, releaseComponents: ["pra-catalogue.tsv": UseCaseFixture.catalogueHash])
    }

    @Test("A URL off a host's mcp_http_checks is refused before any request is sent or audited, for the whole group")
    func egressRefused() async throws {
        let call = Diagnostics.Call(expression: "web", fansOut: true, words: ["url": "https://evil.example.org/x"],
                                    requests: ["http-check url=https://evil.example.org/x"], egress: [.url(argument: "url")])
        let refused = await refusal { _ = try await diagnostics.run(call, parse: { $0 }, progress: { _, _ in }) }
        #expect(refused?.code == .invalidArgument && refused?.message.contains("is not in web1's mcp_http_checks") == true, "\(String(describing: refused))")
        #expect(fixture.remote.requests.isEmpty && fixture.store.chain.isEmpty)
        // One host allowing it is not enough: web2 does not.
        fixture.edit("web1") { $0.httpChecks.append("https://evil.example.org/") }
        let second = await refusal { _ = try await diagnostics.run(call, parse: { $0 }, progress: { _, _ in }) }
        #expect(second?.message.contains("web2's mcp_http_checks") == true && fixture.remote.requests.isEmpty)
    }

    @Test("A group fans out to every host; the one that fails has its error, the others their parsed answers, in inventory order")
    func fanOut() async throws {
        for name in ["web1", "db1"] { fixture.remote.on(host: name, request: "processes", .ok("\(name) processes")) }
        fixture.remote.on(host: "web2", request: "processes", .failure("web2: host key mismatch"))
        let progress = Progress()
        let call = Diagnostics.Call(expression: "web,db", fansOut: true, words: [:], requests: ["processes"])
        let results = try await diagnostics.run(call, parse: { $0.joined() }, progress: { done, total in await progress.add(done, total) })
        #expect(results.map(\.host) == ["web1", "web2", "db1"])
        #expect(results[0].value == "web1 processes" && results[2].value == "db1 processes" && results[0].ok && results[2].ok)
        #expect(results[1].value == nil && results[1].error?.contains("host key mismatch") == true)
        let (done, totals) = (await progress.done, await progress.calls)
        #expect(totals == [3, 3, 3] && done == [1, 2, 3])
        #expect(fixture.store.chain.count == 3 && fixture.store.chain.filter { $0.outcome == "unreachable" }.map(\.host) == ["web2"])
    }

    @Test("A non-zero exit is an answer only when the tool accepts it and nothing was printed on stderr")
    func acceptedExitCodes() async throws {
        fixture.remote.on(host: "web1", request: "failed-units", .exit(1, stdout: "none failed"))
        fixture.remote.on(host: "web2", request: "failed-units", .exit(1, stderr: "systemctl: bus error"))
        fixture.remote.on(host: "db1", request: "failed-units", .exit(2, stdout: "?"))
        let call = Diagnostics.Call(expression: "all", fansOut: true, words: [:], requests: ["failed-units"], acceptedExitCodes: [0, 1])
        let results = try await diagnostics.run(call, parse: { $0.joined() }, progress: { _, _ in })
        #expect(results[0].value == "none failed")
        #expect(results[1].error?.contains("mcp-wrapper exit 1: systemctl: bus error") == true)
        #expect(results[2].error?.contains("mcp-wrapper exit 2") == true)
    }

    @Test("A single-host tool refuses a group; an unknown name is refused; neither sends anything")
    func hostExpressions() async throws {
        let single = Diagnostics.Call(expression: "web", fansOut: false, words: [:], requests: ["processes"])
        #expect(await refusal { _ = try await diagnostics.run(single, parse: { $0 }, progress: { _, _ in }) }?.code == .unknownHost)
        let unknown = Diagnostics.Call(expression: "web1,web9", fansOut: true, words: [:], requests: ["processes"])
        let refused = await refusal { _ = try await diagnostics.run(unknown, parse: { $0 }, progress: { _, _ in }) }
        #expect(refused?.code == .unknownHost && refused?.message.contains("'web9' is not a host or group") == true)
        #expect(fixture.remote.requests.isEmpty)
    }

    @Test("Drift: each host's reported components against the release; a host that does not answer is left out")
    func drift() async throws {
        fixture.remote.on(host: "web2", request: "version", .ok(UseCaseFixture.versionAnswer(catalogueHash: String(repeating: "0", count: 64))))
        fixture.remote.on(host: "db1", request: "version", .failure("unreachable"))
        let drift = await diagnostics.drift()
        #expect(drift.keys.sorted() == ["web1", "web2"] && drift["web1"]?.isEmpty == true)
        #expect(drift["web2"]?.map(\.component) == ["pra-catalogue.tsv"])
    }
}

/// What a fan-out reported, from any task.
actor Progress {
    var done: [Int] = []
    var calls: [Int] = []
    func add(_ done: Int, _ total: Int) {
        self.done.append(done)
        calls.append(total)
    }
}

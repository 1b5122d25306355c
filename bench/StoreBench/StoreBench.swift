import ArgumentParser
import Foundation
import InfraApp
import InfraDomain

/// Proposals, claims and audit rows per second that one server process gets from its store, SQLite or
/// PostgreSQL, through the ports (``ActionStore``, ``AuditSink``) the use cases use.
///
/// W worker threads (blocking on the synchronous ports, as the server's callers do) each run ``ActionCycle``
/// again and again for the given seconds: insert, approve, claim, finish, and the action's tool-call rows
/// through one ``AuditRecorder`` (group commit). It prints one line with the rates and the p50/p99 of the
/// three updates. bench/store-bench.sh runs it once and twice at once on one store, then `--verify` checks
/// that the rows of both processes form one chain. Not a test: numbers vary with the machine and its load.
@main
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-bench",
        abstract: "Proposals, claims and audit rows per second through the store ports, on SQLite or PostgreSQL.")

    @Option(help: "The SQLite state database to use (created when absent).")
    var sqlite: String?

    @Option(help: "The PostgreSQL store, as LINUX_MCP_DATABASE_URL gives it (postgres://USER@/DATABASE?host=/SOCKET/FOLDER).")
    var postgres: String?

    @Option(help: "How long to run, in seconds.")
    var seconds: Double = 10

    @Option(help: "Concurrent workers in this process, each running whole actions.")
    var workers = 4

    @Option(help: "Tool-call audit rows per action, group-committed across workers.")
    var toolCalls = 4

    @Option(help: "How many bench processes run at once on this store (printed in the line; the script sums them).")
    var servers = 1

    @Option(help: "Start the measured run at this time (seconds since the epoch), so that processes started together overlap.")
    var startAt: Double?

    @Option(help: "With --verify: the number of rows the chain must hold.")
    var expectRows: Int?

    @Flag(help: "Do not bench: load every audit row through the port, verify the chain and print \"chain ok, N rows\".")
    var verify = false

    func validate() throws {
        guard (sqlite == nil) != (postgres == nil) else {
            throw ValidationError("give exactly one store: --sqlite PATH or --postgres URL")
        }
        guard seconds > 0 else { throw ValidationError("--seconds must be more than 0 (how long to run)") }
        guard workers >= 1 else { throw ValidationError("--workers must be 1 or more (concurrent workers in this process)") }
        guard toolCalls >= 0 else { throw ValidationError("--tool-calls must be 0 or more (audit rows per action)") }
        guard servers >= 1 else { throw ValidationError("--servers must be 1 or more (processes sharing the store)") }
    }

    func run() async throws {
        let opened = try open()
        if verify { return try Self.verifyChain(opened.audit, expectedRows: expectRows) }
        if let startAt {
            let wait = startAt - Date().timeIntervalSince1970
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
        }
        let cycle = ActionCycle(store: opened.store, recorder: AuditRecorder(sink: opened.audit), toolCalls: toolCalls,
                                server: "bench-\(getpid())")
        let tally = BenchTally()
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started + .seconds(seconds)
        await Self.runWorkers(workers) {
            while clock.now < deadline && !tally.failed {
                do { tally.add(try cycle.run()) } catch { tally.fail(error); return }
            }
        }
        let elapsed = started.duration(to: clock.now)
        if let failure = tally.failure { throw BenchFailure("a worker failed: \(failure)") }
        print(line(tally, elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
    }

    /// Both ports on the store the options name, opened as the server opens its store.
    func open() throws -> OpenedStore {
        var url: DatabaseURL?
        if let postgres {
            do { url = try DatabaseURL.parse(postgres) } catch { throw ValidationError("--postgres: \(error.problem); \(error.fix)") }
        }
        do {
            return try InfraComposition.openStore(sqlitePath: sqlite ?? "", url: url, witness: nil)
        } catch {
            throw BenchFailure("cannot open the store: \(error)")
        }
    }

    /// The result line: rates summed over this process's workers, and the updates' p50/p99.
    func line(_ tally: BenchTally, elapsed: Double) -> String {
        func rate(_ count: Int) -> String { String(format: "%.1f", Double(count) / elapsed) }
        let p50 = String(format: "%.2f", tally.updateMilliseconds(quantile: 0.5))
        let p99 = String(format: "%.2f", tally.updateMilliseconds(quantile: 0.99))
        return "\(sqlite != nil ? "sqlite" : "postgresql") servers=\(servers) workers=\(workers) proposals/s=\(rate(tally.proposals))"
            + " claims/s=\(rate(tally.claims)) audit-rows/s=\(rate(tally.auditRows)) rows=\(tally.auditRows)"
            + " (update p50/p99 ms: \(p50)/\(p99))"
    }

    /// Runs `body` on `count` threads and returns when every one has returned.
    static func runWorkers(_ count: Int, _ body: @escaping @Sendable () -> Void) async {
        let group = DispatchGroup()
        for _ in 0..<count {
            group.enter()
            Thread {
                body()
                group.leave()
            }.start()
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global()) { done.resume() }
        }
    }

    /// Loads every row through the port and verifies the chain (and its length, when `expectedRows` is given).
    static func verifyChain(_ audit: any AuditSink, expectedRows: Int?) throws {
        let rows = try audit.records(AuditFilter())
        if let broken = AuditChain.verify(rows) {
            throw BenchFailure("the chain breaks at row \(broken.seq): \(broken.problem)")
        }
        if let expectedRows, rows.count != expectedRows {
            throw BenchFailure("the chain holds \(rows.count) rows, the runs wrote \(expectedRows)")
        }
        print("chain ok, \(rows.count) rows")
    }
}

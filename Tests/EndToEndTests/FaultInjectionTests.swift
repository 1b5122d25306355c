import Foundation
import InfraTestSupport
import Testing

/// Fault injection on the real binary (issue 11): no crash on any exit path, no call without an answer,
/// no wait without a deadline. Real sshd, real accounts, the real mcp-wrapper; a raw JSON-RPC client
/// (Tests/mcp/raw_client.py, its own fd buffering, no SDK) drives `serve`. Serialized: each case loads the
/// machine on purpose, and they measure deadlines; one at a time, beside the rest of the suite.
@Suite("Fault injection: exits, floods, faults (real binary, real sshd)", endToEnd, .serialized)
struct FaultInjectionTests {
    static var rawClient: String { LoopbackTarget.repositoryRoot + "/Tests/mcp/raw_client.py" }

    /// How doctor's target is broken in each 200-run loop.
    enum Breakage: String, CaseIterable, Sendable {
        case changedHostKey = "a changed host key"
        case refusedAuthentication = "refused authentication"
        case nothingListens = "a port where nothing listens"
    }

    @Test("doctor run 200 times against a broken host: every exit status is 1, never a signal", arguments: Breakage.allCases)
    func doctorNeverCrashes(_ breakage: Breakage) async throws {
        try await LoopbackTarget.with { target in
            var environment = ProcessInfo.processInfo.environment
            switch breakage {
            case .changedHostKey:
                try await target.pinUnrelatedHostKey(at: target.stateDirectory + "/known_hosts")
            case .refusedAuthentication:
                let wrong = target.stateDirectory + "/wrong-key"
                #expect(try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", wrong]).status == 0)
                environment["LINUX_MCP_READER_KEY"] = wrong
                environment["LINUX_MCP_RUNNER_KEY"] = wrong
            case .nothingListens:
                // Port 9 (discard) on loopback: nothing listens there; the key stays pinned for that endpoint.
                let inventory = target.stateDirectory + "/inventory-port9.yml"
                try "all:\n  hosts:\n    loopback:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n"
                    .write(toFile: inventory, atomically: true, encoding: .utf8)
                let pinned = try String(contentsOfFile: target.stateDirectory + "/known_hosts", encoding: .utf8)
                    .split(separator: " ").dropFirst().joined(separator: " ")
                try "[127.0.0.1]:9 \(pinned)".write(toFile: target.stateDirectory + "/known_hosts-port9", atomically: true, encoding: .utf8)
                environment["LINUX_MCP_INVENTORY"] = inventory
                environment["LINUX_MCP_KNOWN_HOSTS"] = target.stateDirectory + "/known_hosts-port9"
            }
            var statuses: [Int32: Int] = [:]
            var sample = ""
            for _ in 0..<200 {
                let outcome = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", target.envFile], environment: environment)
                statuses[outcome.status, default: 0] += 1
                if outcome.status != 1 && sample.isEmpty { sample = outcome.stdout + outcome.stderr }
            }
            // Foundation's Process reports a signal death as the signal number (11 for SIGSEGV).
            #expect(statuses == [1: 200], "\(breakage.rawValue): exit statuses \(statuses); first odd run: \(sample.suffix(800))")
        }
    }

    @Test("serve: a client calls, then closes stdin mid-call, 100 times: exit 0 every time, within seconds")
    func serveExitsCleanlyWhenTheClientLeaves() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            let run = try await ProcessRunner.run("/usr/bin/env", ["python3", Self.rawClient, "close-mid-call", productBinary(), target.envFile,
                                                                   target.stateDirectory + "/serve.stderr", "100", "loopback"])
            try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
            let report = try Self.json(run.stdout)
            let statuses = (report["statuses"] as? [Any] ?? []).map { $0 as? Int }
            #expect(statuses.count == 100)
            #expect(statuses.allSatisfy { $0 == 0 }, "exit statuses (nil = hung, negative = signal): \(statuses)")
            #expect((report["maxExitSeconds"] as? Double ?? 99) < 10, "\(report)")
        }
    }

    @Test("200 concurrent calls to one host, 20 runs in a row: every call answered within its deadline")
    func floodOneHost() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            let report = try await Self.burst(target, hosts: ["loopback"], calls: 200, runs: 20)
            Self.expectAllAnswered(report, hosts: ["loopback"])
        }
    }

    @Test("500 concurrent calls over 50 hosts (one sshd in a network namespace of the test): every call answered in time")
    func floodFiftyHosts() async throws {
        try await TestNetworkNamespace.with { namespace in
            try await LoopbackTarget.with(extraArguments: ["--system", "--listen-any", "--hosts", "50"], namespace: namespace) { target in
                let report = try await Self.burst(target, hosts: (1...50).map { "h\($0)" }, calls: 500, runs: 2, namespace: namespace)
                Self.expectAllAnswered(report, hosts: (1...50).map { "h\($0)" })
            }
        }
    }

    @Test("A host that stays busy (max-requests): the call is tried again with backoff inside one deadline, then refused naming the host; a slot freed meanwhile lets it succeed")
    func busyRetriesShareOneDeadline() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            try "1\n".write(toFile: target.stateDirectory + "/prefix/etc/mcp-linux-infra/max-requests", atomically: true, encoding: .utf8)
            // The test itself holds the reader's only request slot, as a running request would (flock on the slot file).
            let slot = target.stateDirectory + "/prefix/var/lib/mcp-linux-infra/slots/\(target.readerUser)/1"
            let fd = open(slot, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            try #require(fd >= 0, "cannot open \(slot)")
            var held = true
            defer { if held { close(fd) } }
            let reader = try #require(getpwnam(target.readerUser)?.pointee.pw_uid, "no account \(target.readerUser)")
            try #require(fchown(fd, reader, gid_t.max) == 0, "cannot give \(slot) to \(target.readerUser)")
            try #require(flock(fd, LOCK_EX | LOCK_NB) == 0, "the slot is taken already")
            func call(timeoutMs: Int) async throws -> [String: Any] {
                let scenario: [String: Any] = ["env": ["LINUX_MCP_COMMAND_TIMEOUT_MS": String(timeoutMs)], "calls": [["get_memory_info", ["host": "loopback"]]]]
                let run = try await ProcessRunner.run("/usr/bin/python3", [Self.rawClient, "calls", productBinary(), target.envFile,
                                                                           target.stateDirectory + "/serve.stderr",
                                                                           String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
                try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
                return try #require((try Self.json(run.stdout)["results"] as? [[String: Any]])?.first)
            }

            // Still busy at the deadline: a refusal naming the host and the reason, within the command timeout
            // (backoff included; five attempts with fixed pauses alone would take 3 s), after more than one attempt.
            let refusalsBefore = Self.auditLines(target, containing: "refused", and: "busy")
            let refused = try await call(timeoutMs: 2000)
            let text = refused["text"] as? String ?? ""
            #expect(refused["isError"] as? Bool == true && text.contains("busy") && text.contains("max-requests"), "\(refused)")
            let result = (try? Self.json(text))?["results"] as? [[String: Any]]
            #expect(result?.first?["host"] as? String == "loopback", "\(text)")
            let took = try #require(result?.first?["durationMs"] as? Int, "\(text)")
            #expect(took <= 2500, "the retries ran past the call's deadline: \(took) ms for a 2000 ms command timeout")
            #expect(await Self.waitForAuditLines(target, containing: "refused", and: "busy", count: refusalsBefore + 2, seconds: 10),
                    "fewer than two attempts reached the host")

            // A slot freed after the first refusal: a later attempt of the same call runs.
            let before = Self.auditLines(target, containing: "refused", and: "busy")
            async let answer = call(timeoutMs: 20_000)
            let refusedOnce = await Self.waitForAuditLines(target, containing: "refused", and: "busy", count: before + 1, seconds: 20, every: .milliseconds(20))
            close(fd)
            held = false
            let succeeded = try await answer
            #expect(refusedOnce, "the call was never refused as busy")
            #expect(succeeded["isError"] as? Bool == false && (succeeded["structured"] as? [String: Any]) != nil, "\(succeeded)")
        }
    }

    /// A test-only catalogue action that sleeps as root (never shipped): long enough to be running at SIGTERM.
    static let sleepAction = "test_sleep\tLOW\tseconds:string:^[0-9]{1,2}$\t/bin/sleep {seconds}\t-\tno\tTest only: sleep as root.\n"

    @Test("SIGTERM while an approved action runs: it finishes within the grace period and ends COMPLETED; serve exits 0")
    func sigtermLetsTheActionFinish() async throws {
        try await Self.withActionTarget { target, approver in
            let (report, show) = try await Self.sigtermDuringExecute(target, approver: approver, sleep: 4, grace: 20)
            #expect(report["exit"] as? Int == 0, "\(report)")
            let execute = report["executeAnswer"] as? [String: Any]
            #expect(execute?["isError"] as? Bool == false, "\(report)")
            #expect(show.contains("state:         COMPLETED"), "\(show)")
            // A call sent after the signal is refused, not left unanswered.
            let late = report["lateCall"] as? [String: Any]
            #expect(late?["isError"] as? Bool == true && (late?["text"] as? String)?.contains("shutting down") == true, "\(report)")
            let stops = try await Self.cli(target, ["audit", "search", "--kind", "server"])
            #expect(stops.stdout.split(separator: "\n").contains { $0.contains(" stopped ") && $0.contains("\"reason\":\"SIGTERM\"") },
                    "\(stops.stdout)")
            let verify = try await Self.cli(target, ["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    @Test("SIGTERM with a grace period shorter than the action: serve exits 0, the action stays EXECUTING, the next start marks it INTERRUPTED")
    func sigtermAfterGraceLeavesInterrupted() async throws {
        try await Self.withActionTarget { target, approver in
            let (report, show) = try await Self.sigtermDuringExecute(target, approver: approver, sleep: 8, grace: 1)
            let id = try #require(report["id"] as? String)
            #expect(report["exit"] as? Int == 0, "\(report)")
            #expect((report["exitSeconds"] as? Double ?? 99) < 8, "serve waited for the action instead of its grace period: \(report)")
            let execute = report["executeAnswer"] as? [String: Any]
            #expect((execute?["text"] as? String)?.contains("stays EXECUTING") == true, "\(report)")
            #expect(show.contains("state:         EXECUTING"), "\(show)")
            // The next start (stdin closed at once) finds the owner gone and marks it INTERRUPTED.
            let restart = try await ProcessRunner.run(productBinary(), ["serve", "--env-file", target.envFile], environment: Self.actionEnvironment(target))
            #expect(restart.status == 0, "\(restart.stderr.suffix(1000))")
            let after = try await Self.cli(target, ["actions", "show", id])
            #expect(after.stdout.contains("state:         INTERRUPTED"), "\(after.stdout)")
            let verify = try await Self.cli(target, ["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            // The host ran it to the end all the same, as after a crash; wait for it so nothing is left running.
            #expect(await Self.waitForAuditLine(target, containing: "id=\(id)", and: "pra-run: done", seconds: 20), "the action never finished on the host")
        }
    }

    /// Linux refuses to remount a filesystem read-only while a process holds a file on it open for writing
    /// (EBUSY), and a chmod does not touch an open descriptor: a database cannot turn read-only under a
    /// running server. So the read-only database is tested where it can happen, at start (refused, exit 2,
    /// nothing written), and the disk-full database while calls run.
    @Test("The database read-only at start (refused, nothing written), then the disk full while calls run: each call fails closed (audit log unavailable), no partial row, recovery after")
    func databaseFaults() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            // The database on a small tmpfs of the test's own: remounted read-only, then filled up. Unmounted by its path.
            let disk = target.stateDirectory + "/dbfs"
            try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
            let mounted = try await ProcessRunner.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", disk])
            try #require(mounted.status == 0, "\(mounted.stderr)")
            do {
                let database = disk + "/state.sqlite3"
                let environment = ProcessInfo.processInfo.environment.merging(["LINUX_MCP_DB": database]) { $1 }
                #expect(try await ProcessRunner.run(productBinary(), ["actions", "list", "--env-file", target.envFile], environment: environment).status == 0)
                let before = try Data(contentsOf: URL(fileURLWithPath: database))
                #expect(try await ProcessRunner.run("/usr/bin/mount", ["-o", "remount,ro", disk]).status == 0)
                let refused = try await ProcessRunner.run(productBinary(), ["serve", "--env-file", target.envFile], environment: environment)
                #expect(refused.status == 2 && refused.stderr.contains(database) && refused.stderr.contains("LINUX_MCP_DB"), "\(refused.stderr)")
                #expect(try await ProcessRunner.run("/usr/bin/mount", ["-o", "remount,rw", disk]).status == 0)
                #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == before, "a refused start wrote to the database")
                let scenario: [String: Any] = [
                    "host": "loopback", "calls": 40, "window": 1, "expectedError": "audit log unavailable",
                    "env": ["LINUX_MCP_DB": database],
                    "faults": [
                        ["name": "disk-full", "at": 10, "during": 10,
                         "inject": ["/usr/bin/dd", "if=/dev/zero", "of=\(disk)/filler", "bs=64k"], "recover": ["/usr/bin/rm", "-f", "--", "\(disk)/filler"]],
                    ],
                ]
                let run = try await ProcessRunner.run("/usr/bin/python3", [Self.rawClient, "faults", productBinary(), target.envFile,
                                                                           target.stateDirectory + "/serve.stderr",
                                                                           String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
                try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
                let report = try Self.json(run.stdout)
                let phases = report["phases"] as? [String: [String: Any]] ?? [:]
                func count(_ phase: String, _ key: String) -> Int { phases[phase]?[key] as? Int ?? -1 }
                #expect(report["unanswered"] as? Int == 0 && report["exit"] as? Int == 0, "\(report)")
                #expect(count("normal", "ok") == 10, "\(phases)")
                for fault in ["disk-full"] {
                    #expect(count(fault, "ok") == 0 && count(fault, "errors") == 10 && count(fault, "expectedErrors") == 10,
                            "\(fault): \(phases[fault] ?? [:])")
                    #expect(count("after-" + fault, "errors") == 0 && count("after-" + fault, "ok") > 0, "after \(fault): \(phases)")
                    let samples = phases[fault]?["errorSamples"] as? [String] ?? []
                    #expect(!samples.isEmpty && samples.allSatisfy { !$0.contains("INSERT") && !$0.contains(disk) },
                            "the answer carries the database's own message: \(samples.first ?? "")")
                }
                // No partial row: exactly one tool row and one ssh row per call that succeeded, and the chain verifies.
                let succeeded = ["normal", "after-disk-full"].map { count($0, "ok") }.reduce(0, +)
                let export = try await ProcessRunner.run(productBinary(), ["audit", "export", "--jsonl", "--env-file", target.envFile], environment: environment)
                let rows = export.stdout.split(separator: "\n")
                #expect(rows.filter { $0.contains("\"kind\":\"tool\"") }.count == succeeded, "\(rows.count) rows for \(succeeded) calls")
                #expect(rows.filter { $0.contains("\"kind\":\"ssh\"") }.count == succeeded)
                let verify = try await ProcessRunner.run(productBinary(), ["audit", "verify", "--env-file", target.envFile], environment: environment)
                #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            } catch {
                _ = try? await ProcessRunner.run("/usr/bin/umount", [disk])
                throw error
            }
            #expect(try await ProcessRunner.run("/usr/bin/umount", [disk]).status == 0)
        }
    }

    @Test("2,000 read-only calls while the target's sshd restarts, its link goes down and up, and it freezes mid-handshake: the server stays up, errors name the host, calls succeed after, RSS stays flat")
    func faultsOnARealTarget() async throws {
        try requirePrerequisites()
        try await NspawnTarget.with(indexes: [28]) { targets in
            let target = targets[0]
            try await DeploymentWorkspace.with(targets: targets) { workspace in
                let deploy = try await workspace.playbook("deploy-mcp-infra.yml")
                try #require(deploy.status == 0, "\(deploy)")
                let scenario: [String: Any] = [
                    "host": "t1", "calls": 2000, "window": 4, "timeLimitSeconds": 900,
                    "env": ["LINUX_MCP_COMMAND_TIMEOUT_MS": "4000", "LINUX_MCP_CONNECT_TIMEOUT_MS": "2000"],
                    "faults": [
                        // sshd dies with every connection (SIGKILL to its whole unit, as in a crash) and systemd restarts it.
                        // Run from a transient unit: the root session that asks is itself one of the connections killed.
                        ["name": "sshd-restart", "at": 300, "during": 40,
                         "inject": try target.rootCommand(["systemd-run", "--no-block", "--collect", "/bin/sh", "-c",
                                                           "systemctl kill --signal=KILL ssh.service; sleep 0.3; systemctl start ssh.service"]),
                         "recover": ["/usr/bin/true"], "settleSeconds": 1],
                        ["name": "link-down", "at": 800, "during": 12,
                         "inject": ["/usr/sbin/ip", "link", "set", target.hostLink, "down"],
                         "recover": ["/usr/sbin/ip", "link", "set", target.hostLink, "up"], "settleSeconds": 1],
                        ["name": "frozen-mid-handshake", "at": 1300, "during": 12,
                         "inject": ["@write", target.freezeFile, "1"], "recover": ["@write", target.freezeFile, "0"]],
                    ],
                ]
                let run = try await ProcessRunner.run("/usr/bin/python3", [Self.rawClient, "faults", productBinary(), workspace.envFile,
                                                                           workspace.directory + "/serve.stderr",
                                                                           String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
                // Whatever happened, the target must not stay frozen or cut off for the teardown.
                try? "0".write(toFile: target.freezeFile, atomically: false, encoding: .utf8)
                _ = try? await ProcessRunner.run("/usr/sbin/ip", ["link", "set", target.hostLink, "up"])
                try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
                let report = try Self.json(run.stdout)
                let phases = report["phases"] as? [String: [String: Any]] ?? [:]
                #expect(report["aliveAtEnd"] as? Bool == true && report["exit"] as? Int == 0, "\(report)")
                #expect(report["answered"] as? Int == 2000 && report["unanswered"] as? Int == 0, "\(report)")
                #expect(phases["normal"]?["errors"] as? Int == 0, "\(phases["normal"] ?? [:])")
                for fault in ["link-down", "frozen-mid-handshake"] {
                    #expect((phases[fault]?["errors"] as? Int ?? 0) > 0, "\(fault) caused no error: \(phases[fault] ?? [:])")
                }
                // A frozen host accepts TCP (its kernel runs) but never sends sshd's banner: new sessions time out mid-handshake.
                let frozen = phases["frozen-mid-handshake"]?["errorSamples"] as? [String] ?? []
                #expect(frozen.contains { $0.contains("during SSH handshake") }, "no handshake timeout while frozen: \(frozen)")
                for (name, phase) in phases {
                    for sample in phase["errorSamples"] as? [String] ?? [] {
                        #expect(sample.contains("\"host\":\"t1\""), "\(name): an error that names no host: \(sample)")
                    }
                }
                let tails = report["lastTwentyOk"] as? [String: Bool] ?? [:]
                for fault in ["sshd-restart", "link-down", "frozen-mid-handshake"] {
                    #expect(tails["after-" + fault] == true, "calls after \(fault) do not succeed again: \(phases["after-" + fault] ?? [:])")
                }
                let early = try #require(report["rssAfter100"] as? Int), late = try #require(report["rssEnd"] as? Int)
                print("fault phases: \(phases.mapValues { ["ok": $0["ok"] ?? 0, "errors": $0["errors"] ?? 0, "maxSeconds": $0["maxSeconds"] ?? 0] }); RSS \(early) kB -> \(late) kB")
                #expect(Double(late) <= Double(early) * 1.10, "RSS grew from \(early) kB after 100 calls to \(late) kB after 2,000")
            }
        }
    }

    // MARK: - Helpers

    /// A --system loopback target whose catalogue has test_sleep, and an approver OS account of the test's own.
    static func withActionTarget(extraCatalogue: String = sleepAction, _ body: (LoopbackTarget, String) async throws -> Void) async throws {
        let extra = FileManager.default.temporaryDirectory.appendingPathComponent("sleep-action-\(UUID().uuidString).tsv").path
        try extraCatalogue.write(toFile: extra, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: extra) }
        try await LoopbackTarget.with(extraArguments: ["--system", "--extra-catalogue", extra]) { target in
            let approver = "mt" + target.readerUser.dropFirst(2).dropLast() + "a"
            #expect(try await AccountTools.run("useradd", ["-M", "-s", "/usr/sbin/nologin", approver]).status == 0)
            do {
                // The approver needs the CLI, the settings and the database: a copy of the binary, and a state folder they share.
                let state = target.stateDirectory + "/state"
                // The approver signs with alice's key (the target's allowed_signers lists it), a copy only they can read.
                for command in [["install", "-m", "0755", productBinary(), target.stateDirectory + "/mcp-linux-infra"],
                                ["install", "-d", "-m", "0777", state],
                                ["install", "-m", "0600", "-o", approver, target.stateDirectory + "/approvers/alice", target.stateDirectory + "/approver-key"]] {
                    #expect(try await ProcessRunner.run("/usr/bin/env", command).status == 0, "\(command)")
                }
                #expect(try await cli(target, ["actions", "list"]).status == 0)
                #expect(try await ProcessRunner.run("/usr/bin/env", ["chmod", "0666", state + "/state.sqlite3"]).status == 0)
                try await body(target, approver)
            } catch {
                _ = try? await AccountTools.run("userdel", [approver])
                throw error
            }
            #expect(try await AccountTools.run("userdel", [approver]).status == 0)
        }
    }

    /// The server's settings for action tests: the target's catalogue (with test_sleep).
    static func actionEnvironment(_ target: LoopbackTarget, grace: Int = 30) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["LINUX_MCP_CATALOGUE"] = target.stateDirectory + "/prefix/lib/mcp-linux-infra/pra-catalogue.tsv"
        environment["LINUX_MCP_SHUTDOWN_GRACE_SECONDS"] = String(grace)
        return environment
    }

    /// Proposes test_sleep, has `approver` approve it, executes it and sends SIGTERM one second later.
    /// Returns the client's report and `actions show` of the action once serve has exited.
    static func sigtermDuringExecute(_ target: LoopbackTarget, approver: String, sleep: Int, grace: Int) async throws -> ([String: Any], String) {
        let environment = actionEnvironment(target, grace: grace)
        let scenario: [String: Any] = [
            "host": "loopback", "action": "test_sleep", "parameters": ["seconds": String(sleep)],
            // The approver reviews with the same catalogue as the server (the target's, with test_sleep).
            "approve": ["runuser", "-u", approver, "--", "/usr/bin/env", "LINUX_MCP_CATALOGUE=" + environment["LINUX_MCP_CATALOGUE"]!,
                        target.stateDirectory + "/mcp-linux-infra", "actions", "approve", "--env-file", target.envFile,
                        "--key", target.stateDirectory + "/approver-key"],
            "termAfterSeconds": 1, "graceSeconds": grace,
            "env": ["LINUX_MCP_CATALOGUE": environment["LINUX_MCP_CATALOGUE"]!, "LINUX_MCP_SHUTDOWN_GRACE_SECONDS": String(grace)],
        ]
        let run = try await ProcessRunner.run("/usr/bin/python3", [Self.rawClient, "sigterm-execute", productBinary(), target.envFile,
                                                                   target.stateDirectory + "/serve.stderr",
                                                                   String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
        try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
        let report = try json(run.stdout)
        let approve = report["approve"] as? [Any] ?? []
        try #require(approve.first as? Int == 0, "approval failed: \(approve)")
        let id = try #require(report["id"] as? String)
        return (report, try await cli(target, ["actions", "show", id]).stdout)
    }

    /// The CLI as root, on the target's settings.
    static func cli(_ target: LoopbackTarget, _ arguments: [String]) async throws -> ProcessRunner.Outcome {
        try await ProcessRunner.run(productBinary(), arguments + ["--env-file", target.envFile])
    }

    /// How many lines of the target's audit log (its syslog sink) have both texts.
    static func auditLines(_ target: LoopbackTarget, containing first: String, and second: String) -> Int {
        let text = (try? String(contentsOfFile: target.stateDirectory + "/audit.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains(first) && $0.contains(second) }.count
    }

    /// Waits until the target's audit log has at least `count` lines with both texts.
    static func waitForAuditLines(_ target: LoopbackTarget, containing first: String, and second: String, count: Int, seconds: Int,
                                  every pause: Duration = .milliseconds(200)) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if auditLines(target, containing: first, and: second) >= count { return true }
            try? await Task.sleep(for: pause)
        }
        return false
    }

    /// Waits until the target's audit log (its syslog sink) has a line with both texts.
    static func waitForAuditLine(_ target: LoopbackTarget, containing first: String, and second: String, seconds: Int) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: target.stateDirectory + "/audit.log", encoding: .utf8)) ?? ""
            if text.split(separator: "\n").contains(where: { $0.contains(first) && $0.contains(second) }) { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// The server's own deadline for one call (its command timeout, busy retries included)...
    static let burstCommandTimeoutSeconds = 15
    /// ...and the client's: the server's plus time for the answer to travel back through stdio on a loaded machine.
    static let burstDeadlineSeconds = 20

    static func burst(_ target: LoopbackTarget, hosts: [String], calls: Int, runs: Int,
                      namespace: TestNetworkNamespace? = nil) async throws -> [String: Any] {
        let scenario: [String: Any] = ["hosts": hosts, "calls": calls, "runs": runs, "deadlineSeconds": burstDeadlineSeconds,
                                       "env": ["LINUX_MCP_COMMAND_TIMEOUT_MS": String(burstCommandTimeoutSeconds * 1000)]]
        let arguments = [Self.rawClient, "burst", productBinary(), target.envFile, target.stateDirectory + "/serve.stderr",
                         String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)]
        let run = if let namespace { try await namespace.run("/usr/bin/python3", arguments) }
            else { try await ProcessRunner.run("/usr/bin/python3", arguments) }
        try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
        return try json(run.stdout)
    }

    static func expectAllAnswered(_ report: [String: Any], hosts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let runs = report["runs"] as? [[String: Any]] ?? []
        #expect(!runs.isEmpty, sourceLocation: sourceLocation)
        print("burst over \(hosts.count) host(s), per run (ok/errors/slowest s): "
              + runs.map { "\($0["ok"] ?? "?")/\($0["errors"] ?? "?")/\($0["maxSeconds"] ?? "?")" }.joined(separator: " "))
        #expect(report["unanswered"] as? Int == 0, "calls without an answer: \(runs)", sourceLocation: sourceLocation)
        // The server's own deadline is the command timeout (busy retries included); the client allows 5 s more for the way back.
        #expect(report["late"] as? Int == 0, "answers later than \(burstDeadlineSeconds) s: \(runs)", sourceLocation: sourceLocation)
        // Errors are allowed only as clear refusals naming the host (busy: one machine answers for every name), never as silence.
        for run in runs {
            for sample in run["errorSamples"] as? [String] ?? [] {
                #expect(hosts.contains { sample.contains("\"host\":\"\($0)\"") }, "an error that names no host: \(sample)",
                        sourceLocation: sourceLocation)
            }
        }
        #expect(report["exit"] as? Int == 0, "serve exit: \(report["exit"] ?? "hung")", sourceLocation: sourceLocation)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON report: \(text.prefix(500))")
    }
}

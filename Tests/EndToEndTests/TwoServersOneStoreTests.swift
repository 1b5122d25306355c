import Foundation
import InfraTestSupport
import Testing

/// Issue 21, item 7: two real `serve` processes share one PostgreSQL store (a private cluster, the roles from
/// `store init-postgres --apply`, one login per role) and one nspawn target deployed by the role. Both see the
/// same proposal; a human approves it once with the CLI under a reviewer login; of 2 × 20 `execute` calls written
/// at once, one claims the run; the server that claimed it is killed with SIGKILL while the host runs the action;
/// the other server finds the lease passed and marks the run INTERRUPTED; the host ran it once; `audit verify
/// --hosts` is clean. Tests/mcp/raw_client.py (`two-servers`) drives the servers; this test prepares and asserts.
@Suite("Two servers, one PostgreSQL store, one role-deployed target (real binary, real PostgreSQL, real nspawn target)", endToEnd,
       .enabled(if: TestPostgres.available, Comment(rawValue: TestPostgres.missingReason)), .serialized)
struct TwoServersOneStoreTests {
    /// The approver's OS account: not root, which runs the servers and so proposed the action.
    static let approver = "mcpt-2srv"
    /// How long the approved action runs on the host (seconds): long enough for all 40 calls to be answered and its server
    /// killed mid-run on a loaded machine (20 s was not: the run ended before the last refusal came back).
    static let actionSeconds = 75
    /// The servers' execution lease (seconds): the survivor may mark the run INTERRUPTED this long after the kill.
    static let leaseSeconds = 3
    /// How long the survivor may take to mark the run INTERRUPTED after the kill (polled, not slept).
    static let interruptDeadlineSeconds = 60
    /// The host name each server runs under (a UTS namespace of its own).
    static let hostNames = ["a": "mcpt-2srv-a", "b": "mcpt-2srv-b"]

    /// The logins of one run, one per group role (roles are cluster-wide: the names carry a suffix of their own).
    struct Logins {
        let server: String, reviewer: String, auditor: String

        init() {
            let suffix = UUID().uuidString.lowercased().prefix(8)
            server = "ts\(suffix)_srv"
            reviewer = "ts\(suffix)_rev"
            auditor = "ts\(suffix)_aud"
        }

        var all: [String] { [server, reviewer, auditor] }
    }

    @Test("Both servers see the proposal; approved once; 1 of 2 × 20 concurrent executes claims it; kill -9 of its server mid-run: the other marks it INTERRUPTED, the host ran it once, audit verify --hosts is clean")
    func twoServersOneStore() async throws {
        try requirePrerequisites()
        let clock = ContinuousClock(), began = clock.now
        let database = try TestPostgres.freshDatabase()
        let logins = Logins()
        defer {
            database.drop()
            _ = try? database.cluster.sql("DROP ROLE IF EXISTS \(logins.all.joined(separator: ", "))")
        }
        func url(_ login: String) -> String { "postgres://\(login)@/\(database.name)?host=\(database.cluster.folder)" }

        try await NspawnTarget.with(indexes: [35]) { targets in
            let target = targets[0]
            try await DeploymentWorkspace.with(targets: targets) { workspace in
                // The repository's system/ folder with the test-only test_sleep action: the role deploys it, the servers read it.
                let system = workspace.directory + "/system"
                #expect(try await ProcessRunner.run("/usr/bin/cp", ["-a", LoopbackTarget.repositoryRoot + "/system", system]).status == 0)
                let catalogue = system + "/pra-catalogue.tsv"
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: catalogue))
                handle.seekToEndOfFile()
                handle.write(Data(FaultInjectionTests.sleepAction.utf8))
                try handle.close()
                let deploy = try await workspace.playbook("deploy-mcp-infra.yml", ["-e", "mcp_infra_source_dir=\(system)"])
                try #require(deploy.status == 0, "\(deploy)")

                // The store: roles and schema applied by the real binary as the cluster's superuser, then one login per role.
                func cli(_ arguments: [String], login: String) async throws -> ProcessRunner.Outcome {
                    let environment = ProcessInfo.processInfo.environment.merging(["LINUX_MCP_DATABASE_URL": url(login),
                                                                                   "LINUX_MCP_CATALOGUE": catalogue]) { $1 }
                    return try await ProcessRunner.run(productBinary(), arguments + ["--env-file", workspace.envFile], environment: environment)
                }
                let initialized = try await cli(["store", "init-postgres", "--apply"], login: TestPostgres.superuser)
                try #require(initialized.status == 0, "\(initialized.stdout)\(initialized.stderr)")
                for (login, group) in zip(logins.all, ["mcp_server", "mcp_reviewer", "mcp_auditor"]) {
                    try database.sql("CREATE ROLE \(login) LOGIN IN ROLE \(group)")
                }

                try await Self.withApprover(workspace: workspace, cluster: database.cluster) { approverKey, cliBinary in
                    let sink = try await SyslogSinkProcess.start(socketPath: workspace.directory + "/witness.sock",
                                                                 outputPath: workspace.directory + "/witness.log")
                    defer { sink.stop() }
                    let scenario: [String: Any] = [
                        "host": "t1", "action": "test_sleep", "parameters": ["seconds": String(Self.actionSeconds)], "callsPerServer": 20,
                        // Each server under a host name of its own, as on two machines: the survivor cannot look up the
                        // winner's PID (the same machine's shortcut), only its lease.
                        "hostnames": Self.hostNames,
                        "env": ["LINUX_MCP_DATABASE_URL": url(logins.server), "LINUX_MCP_CATALOGUE": catalogue,
                                "LINUX_MCP_AUDIT_WITNESS": sink.socketPath, "LINUX_MCP_EXECUTION_LEASE_SECONDS": String(Self.leaseSeconds)],
                        // The approver reviews with their own reviewer login and the same catalogue as the servers.
                        "approve": ["runuser", "-u", Self.approver, "--", "/usr/bin/env", "LINUX_MCP_DATABASE_URL=" + url(logins.reviewer),
                                    "LINUX_MCP_CATALOGUE=" + catalogue, cliBinary, "actions", "approve", "--env-file", workspace.envFile,
                                    "--key", approverKey],
                        // Whoever reads the log (the auditor's login) watches the state.
                        "show": ["/usr/bin/env", "LINUX_MCP_DATABASE_URL=" + url(logins.auditor), "LINUX_MCP_CATALOGUE=" + catalogue,
                                 productBinary(), "actions", "show", "--env-file", workspace.envFile],
                        "hostJournal": try target.rootCommand(["journalctl", "--no-pager", "-o", "cat", "-t", "pra-run"]),
                        "interruptDeadlineSeconds": Self.interruptDeadlineSeconds, "hostDoneDeadlineSeconds": Self.actionSeconds + 40,
                    ]
                    let run = try await ProcessRunner.run("/usr/bin/python3", [FaultInjectionTests.rawClient, "two-servers", productBinary(),
                                                                               workspace.envFile, workspace.directory + "/serve.stderr",
                                                                               String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)])
                    let logs = ["a", "b"].map { (try? String(contentsOfFile: workspace.directory + "/serve.stderr." + $0, encoding: .utf8)) ?? "" }
                    try #require(run.status == 0, "client failed: \(run.stderr.suffix(3000))\nserver A: \(logs[0].suffix(1500))\nserver B: \(logs[1].suffix(1500))")
                    let report = try FaultInjectionTests.json(run.stdout)
                    try await Self.check(report, database: database, target: target, logs: logs)

                    // Once the host has finished the action: the whole log, the signed approval and the host's ledger hold,
                    // and every head the two servers sent their witness is in the one chain.
                    let verify = try await cli(["audit", "verify", "--hosts", "--witness", sink.outputPath], login: logins.auditor)
                    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
                    #expect(verify.stdout.contains("1 signed approval(s) verified, 1 ledger entries on 1 host(s) match"), "\(verify.stdout)")
                    #expect(verify.stdout.contains("every one is in the chain"), "\(verify.stdout)")
                    print("two servers, one store: " + verify.stdout.split(separator: "\n").suffix(2).joined(separator: " / "))
                }
            }
        }
        print("two servers, one store: the whole test took \(clock.now - began)")
    }

    /// Asserts on the client's report, the store (as the superuser) and the host's journal.
    static func check(_ report: [String: Any], database: TestPostgres.Database, target: NspawnTarget, logs: [String]) async throws {
        let id = try #require(report["id"] as? String, "\(report)")
        let approve = report["approve"] as? [Any] ?? []
        try #require(approve.first as? Int == 0, "the approval failed: \(approve)")
        #expect((report["pendingOnB"] as? [String])?.contains(id) == true, "server B does not list A's proposal: \(report["pendingOnB"] ?? "none")")

        // One claim: 39 refusals, and the winner's call still open (it waits for the host).
        let refusals = report["refusals"] as? [String] ?? []
        #expect(report["answered"] as? Int == 39 && refusals.count == 39 && (report["succeeded"] as? [String])?.isEmpty == true,
                "answered \(report["answered"] ?? "?"), open \(report["openCalls"] ?? "?"): \(report["succeeded"] ?? "") \(refusals.prefix(3))")
        #expect(refusals.allSatisfy { $0.contains("already executing") }, "\(refusals.filter { !$0.contains("already executing") }.prefix(3))")
        let winnerPID = try #require(report["winnerPid"] as? Int, "no single winner: \(report["openCalls"] ?? "?")")
        #expect(report["startedOnHostBeforeKill"] as? Bool == true, "the host never started the action: \(report["journal"] ?? "")")
        #expect(report["winnerExit"] as? Int == -9, "\(report["winnerExit"] ?? "?")")
        let winner = try #require(report["winner"] as? String)
        let execution = try database.sql("SELECT count(*) || ' ' || min(owner_pid) || ' ' || min(owner_host) FROM execution")
        #expect(execution.trimmingCharacters(in: .whitespacesAndNewlines) == "1 \(winnerPID) \(hostNames[winner]!)", "executions and owner: \(execution)")
        let transitions = try database.sql("SELECT to_state FROM transition ORDER BY id").split(separator: "\n").map(String.init)
        #expect(transitions == ["PROPOSED", "APPROVED", "EXECUTING", "INTERRUPTED"], "\(transitions)")
        let claims = try database.sql("SELECT count(*) FROM audit WHERE kind = 'state' AND outcome = 'EXECUTING'")
        #expect(claims.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "EXECUTING rows in the audit chain: \(claims)")

        // The survivor marks it INTERRUPTED within the deadline, says so over MCP, and refuses to run it again.
        let seconds = report["secondsToInterrupted"] as? Double ?? -1
        #expect(report["interruptedSeen"] as? Bool == true, "not INTERRUPTED \(interruptDeadlineSeconds) s after the kill: \(report["showAfterKill"] ?? "")")
        // Found by the lease: the winner's PID, on "another machine", could not be looked up.
        let reason = try database.sql("SELECT reason FROM transition WHERE to_state = 'INTERRUPTED'")
        #expect(reason.contains("(pid \(winnerPID) on \(hostNames[winner]!)) did not renew its lease, which passed at "), "\(reason)")
        print("two servers, one store: 39 of 40 executes refused in \(report["refusalSeconds"] ?? "?") s; INTERRUPTED \(seconds) s after kill -9 "
              + "(lease \(leaseSeconds) s)")
        #expect(report["survivorState"] as? String == "INTERRUPTED", "\(report["survivorState"] ?? "none")")
        let again = report["executeAgain"] as? [String: Any]
        #expect(again?["isError"] as? Bool == true && (again?["text"] as? String)?.contains("already executed (INTERRUPTED)") == true, "\(again ?? [:])")
        #expect(report["survivorExit"] as? Int == 0, "\(report["survivorExit"] ?? "hung")")

        // The host ran it once, to the end, though its server died.
        #expect(report["doneOnHost"] as? Bool == true, "the action never finished on the host: \(report["journal"] ?? "")")
        let journal = try await target.root(["journalctl", "--no-pager", "-o", "cat", "-t", "pra-run", "-t", "pra-exec"]).stdout
        let starts = journal.split(separator: "\n").filter { $0.hasPrefix("start ") && $0.contains("id=\(id)") }
        #expect(starts.count == 1, "\(journal.suffix(1500))")
        for (name, log) in zip(["A", "B"], logs) {
            #expect(!log.contains("Fatal error") && !log.contains("panic"), "server \(name): \(log.suffix(1500))")
        }
    }

    /// Creates the approver's OS account (with the key of alice, which the inventory lists, and a copy of the
    /// binary), lets it reach the inventory, the settings and the cluster's socket folder, runs `body` with the
    /// key's and the binary's paths, and undoes it all.
    static func withApprover(workspace: DeploymentWorkspace, cluster: TestPostgres.Cluster,
                             _ body: (String, String) async throws -> Void) async throws {
        _ = try await AccountTools.run("userdel", [approver])
        // The cluster's folder is the postgres account's (0700): its group may reach the socket while the test runs.
        #expect(try await AccountTools.run("useradd", ["-M", "-G", "postgres", "-s", "/usr/sbin/nologin", approver]).status == 0)
        let key = workspace.directory + "/approver-key", cliBinary = workspace.directory + "/mcp-linux-infra"
        do {
            for command in [["install", "-m", "0755", productBinary(), cliBinary],
                            ["install", "-m", "0600", "-o", approver, workspace.approverKey("alice"), key],
                            ["chmod", "o+x", workspace.directory, (workspace.directory as NSString).deletingLastPathComponent],
                            ["chmod", "0644", workspace.envFile], ["chmod", "0711", workspace.keys], ["chmod", "0644", workspace.keys + "/known_hosts"],
                            ["chmod", "0710", cluster.folder]] {
                #expect(try await ProcessRunner.run("/usr/bin/env", command).status == 0, "\(command)")
            }
            try await body(key, cliBinary)
        } catch {
            _ = try? await ProcessRunner.run("/usr/bin/chmod", ["0700", cluster.folder])
            _ = try? await AccountTools.run("userdel", [approver])
            throw error
        }
        #expect(try await ProcessRunner.run("/usr/bin/chmod", ["0700", cluster.folder]).status == 0)
        #expect(try await AccountTools.run("userdel", [approver]).status == 0)
    }
}

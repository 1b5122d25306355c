import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

@Suite("mcp-wrapper verbs return the real commands' output (real sshd, real accounts)", requiresRoot)
struct WrapperVerbTests {
    @Test("System, storage, network, process, log and inventory verbs")
    func verbs() async throws {
        try await SystemTarget.with { t in
            func ok(_ request: String) async throws -> String {
                let result = try await t.read(request)
                #expect(result.exitCode == 0, "\(request): exit \(String(describing: result.exitCode)) \(result.stderrText)")
                return result.stdoutText
            }
            let local = try await ProcessRunner.run("/usr/bin/uname", ["-snrvmo"])
            #expect(try await ok("kernel") == local.stdout)
            #expect(try await ok("os").contains("ID="))
            #expect(try await ok("os") == (try String(contentsOfFile: "/etc/os-release", encoding: .utf8)))
            let uptime = try await ok("uptime").split(separator: "\n")
            #expect(uptime.count == 2)
            #expect(uptime[1].split(separator: " ").count == 5)
            #expect(try await ok("memory").contains("MemTotal:"))
            #expect(try await ok("cpu").contains("\"lscpu\""))
            #expect(try await ok("disks").contains("Filesystem"))
            #expect(try await ok("block-devices").contains("\"blockdevices\""))
            #expect(try await ok("interfaces").contains("\"ifname\":\"lo\""))
            #expect(try await ok("routes").hasPrefix("["))
            #expect(try await ok("listening").contains("127.0.0.1:\(t.target.port)"))
            #expect(try await ok("connections").contains("127.0.0.1:\(t.target.port)"))
            #expect(try await ok("connections state=all").contains("127.0.0.1:\(t.target.port)"))
            #expect(try await ok("dns") == (try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)))
            #expect(try await ok("ping host=127.0.0.1 count=1").contains("1 packets transmitted, 1 received"))
            let processes = try await ok("processes sort=mem limit=500")
            #expect(processes.contains("sshd"))
            #expect(processes.split(separator: "\n").count <= 500)
            #expect(try await ok("processes limit=3").split(separator: "\n").count == 3)
            #expect(try await ok("process pid=\(t.target.sshdPID)").contains("sshd"))
            #expect(try await ok("log-tail path=\(t.state)/logs/app.log lines=2") == "kernel: disk error on sda\nplain line\n")
            #expect(try await ok("log-search path=\(t.state)/logs/app.log grep=DISK") == "2:kernel: disk error on sda\n")
            let dirs = try await ok("largest-dirs path=\(t.state) depth=1 limit=50")
            #expect(dirs.contains("\t\(t.state)/logs\n"))
            #expect(dirs.contains("\t\(t.state)\n"))
        }
    }

    @Test("systemd and journal verbs run the real systemctl / journalctl (a booted systemd is tested on the nspawn target)")
    func systemdVerbs() async throws {
        try await SystemTarget.with { t in
            let booted = FileManager.default.fileExists(atPath: "/run/systemd/system")
            for request in ["units", "units state=failed type=timer", "unit-status unit=ssh.service",
                            "unit-show unit=ssh.service", "unit-active unit=ssh.service",
                            "journal lines=5 priority=err since=-1h grep=error", "journal unit=ssh.service lines=1"] {
                let result = try await t.read(request)
                #expect(result.exitCode != 64 && result.exitCode != 77, "\(request) was refused: \(result.stderrText)")
                if !booted && !request.hasPrefix("journal") {
                    // This CI host has no systemd as PID 1: systemctl itself says so.
                    #expect(result.stderrText.contains("systemd"), "\(request): \(result.stderrText)")
                }
            }
            let accepted = await t.auditLines(count: 7).filter { $0.contains("mcp-wrapper: accepted") }
            #expect(accepted.count == 7)
        }
    }

    @Test("Optional tools: HTTP check against a local server; absent tools answer 'not available' (exit 70)")
    func optionalTools() async throws {
        try await SystemTarget.with { t in
            let port = Int.random(in: 30000...60000)
            let server = try ChildProcess.start("/usr/bin/python3", ["-m", "http.server", "--bind", "127.0.0.1", String(port),
                                                                     "--directory", t.state + "/logs"])
            defer {
                kill(server.pid, SIGKILL)
                _ = server.waitBlocking()
            }
            // The host's egress list names this URL (http-checks, from mcp_http_checks).
            let checks = t.state + "/prefix/etc/mcp-linux-infra/http-checks"
            try (try String(contentsOfFile: checks, encoding: .utf8) + "http://127.0.0.1:\(port)/\n").write(toFile: checks, atomically: true, encoding: .utf8)
            var status = ""
            for _ in 0..<50 {
                let result = try await t.read("http-check url=http://127.0.0.1:\(port)/app.log")
                status = result.stdoutText
                if status.hasPrefix("200 ") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status.hasPrefix("200 "))
            let hasDocker = FileManager.default.isExecutableFile(atPath: "/usr/bin/docker")
                || FileManager.default.isExecutableFile(atPath: "/usr/bin/podman")
            if !hasDocker {
                let containers = try await t.read("containers")
                #expect(containers.exitCode == 70)
                #expect(containers.stderrText.contains("no container runtime"))
                #expect(try await t.read("container-logs name=web lines=5").exitCode == 70)
            }
            if !FileManager.default.isExecutableFile(atPath: "/usr/bin/fail2ban-client") {
                #expect(try await t.read("fail2ban").exitCode == 70)
            }
        }
    }

    @Test("A time budget the caller lowered is enforced on the target")
    func callerTimeout() async throws {
        try await SystemTarget.with { t in
            let started = ContinuousClock.now
            let result = try await t.read("ping host=127.0.0.1 count=5 timeout=1")
            // 5 pings take 4 s and end with 0: the target's timeout (124) ended this one at its 1 s budget.
            #expect(result.exitCode == 124)
            #expect(result.stderrText.contains("timed out after 1s"))
            // Long before the 4 s of pings would be a window under load; "never the whole default budget" is not.
            #expect(started.duration(to: .now) < .seconds(30))
        }
    }

    @Test("version prints the sha256 of every installed component, equal to the files in system/")
    func versionHashes() async throws {
        try await SystemTarget.with { t in
            let result = try await t.read("version")
            #expect(result.exitCode == 0)
            let lines = result.stdoutText.split(separator: "\n").map(String.init)
            #expect(lines.first == "mcp-wrapper 1.0.0 role=reader user=\(t.target.readerUser)")
            for file in ["mcp-wrapper", "pra-exec", "pra-run", "target-common.sh", "pra-catalogue.tsv"] {
                let sum = try await ProcessRunner.run("/usr/bin/sha256sum", [LoopbackTarget.repositoryRoot + "/system/" + file])
                let hex = String(sum.stdout.prefix(64))
                #expect(lines.contains("sha256 \(hex) \(t.lib)/\(file)"), "\(file)")
            }
            #expect(lines.contains { $0.hasPrefix("sha256 ") && $0.contains("/etc/sudoers.d/mcp-infra-test-") && !$0.contains("unreadable") })
            let runner = try await t.act("version")
            #expect(runner.stdoutText.contains("pra-exec 1.0.0 role=runner"))
            #expect(Array(runner.stdoutText.split(separator: "\n").dropFirst()) == Array(lines.dropFirst()).map { Substring($0) })
        }
    }
}

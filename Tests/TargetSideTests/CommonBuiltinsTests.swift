import Foundation
import InfraSSH
import InfraTestSupport
import Testing

/// The common script answers without the processes it used to start: the account name from bash's own \u
/// instead of `id -un`, the CPU count from /proc/self/status instead of `nproc`, the components' hashes from
/// one sha256sum instead of one per file. Each answer must be the one the program gives, as installed.
@Suite("target-common.sh's builtins answer as the programs they replace (real accounts)", requiresRoot)
struct CommonBuiltinsTests {
    /// Sources the installed common script as `user` (root when nil), optionally under `taskset -c CPUS`, and
    /// prints each builtin's answer beside the program's.
    func probe(_ t: SystemTarget, as user: String?, cpus: String? = nil) async throws -> [String: String] {
        let script = #"""
        . "${0%/*}/target-common.sh"
        account_name; printf 'account %s|%s\n' "$REPLY" "$(id -un)"
        cpu_count; printf 'cpus %s|%s\n' "$REPLY" "$(nproc)"
        batch=$(components)
        single=$(for file in mcp-wrapper pra-exec pra-run target-common.sh pra-catalogue.tsv; do sha256_line "$lib_dir/$file"; done
                 sudoers=/etc/sudoers.d/mcp-linux-infra; if setting sudoers-file; then sudoers=$REPLY; fi; sha256_line "$sudoers")
        printf 'components %s|%s\n' "${batch//$'\n'/;}" "${single//$'\n'/;}"
        """#
        var argv = ["/bin/bash", "-c", script, t.lib + "/builtins-probe"]
        if let cpus { argv = ["/usr/bin/taskset", "-c", cpus] + argv }
        if let user { argv = ["/usr/sbin/runuser", "-u", user, "--"] + argv }
        let outcome = try await ProcessRunner.run(argv[0], Array(argv.dropFirst()))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        var answers: [String: String] = [:]
        for line in outcome.stdout.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            answers[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return answers
    }

    /// "A|B" → (A, B).
    func pair(_ answer: String?) -> (String, String) {
        let parts = (answer ?? "").split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "<none>")
    }

    @Test("account_name is id -un, cpu_count is nproc (also on one CPU), components are one sha256_line per file, for root and the reader")
    func builtinsMatchPrograms() async throws {
        try await SystemTarget.with { t in
            for user in [nil, t.target.readerUser] {
                let answers = try await probe(t, as: user)
                let (account, id) = pair(answers["account"])
                #expect(!account.isEmpty && account == id, "\(user ?? "root"): \(answers)")
                #expect(account == (user ?? "root"))
                let (cpus, nproc) = pair(answers["cpus"])
                #expect((Int(cpus) ?? 0) > 0 && cpus == nproc, "\(user ?? "root"): \(answers)")
                let (batch, single) = pair(answers["components"])
                #expect(batch.split(separator: ";").count == 6 && batch == single, "\(user ?? "root"): \(answers)")
            }
            let pinned = try await probe(t, as: t.target.readerUser, cpus: "0")
            let (cpus, nproc) = pair(pinned["cpus"])
            #expect(cpus == "1" && nproc == "1", "\(pinned)")
        }
    }
}

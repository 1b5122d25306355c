import Foundation
import InfraTestSupport
import Testing

/// The test targets clean up after themselves, and only after themselves.
@Suite("Test harness: a loopback target's teardown kills its own processes only", requiresRoot)
struct HarnessHygieneTests {
    /// The descendants of `pid`, read from /proc (children files), breadth first.
    static func descendants(of pid: pid_t) -> [pid_t] {
        var found: [pid_t] = [], queue = [pid]
        while let next = queue.first {
            queue.removeFirst()
            let text = (try? String(contentsOfFile: "/proc/\(next)/task/\(next)/children", encoding: .utf8)) ?? ""
            let children = text.split(separator: " ").compactMap { pid_t($0) }
            found += children
            queue += children
        }
        return found
    }

    static func uid(of pid: pid_t) -> uid_t? {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first.flatMap { uid_t($0) }
    }

    @Test("A process with the reader's uid in another PID namespace (as in an nspawn container) survives the teardown")
    func teardownSparesOtherNamespaces() async throws {
        var holder: ChildProcess?
        var sleeper: pid_t = 0
        var readerUID: uid_t = 0
        try await LoopbackTarget.with { target in
            let uid = try await ProcessRunner.run("/usr/bin/id", ["-u", target.readerUser])
            readerUID = try #require(uid_t(uid.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            // A process of that uid in a PID namespace of its own, as a container's account with the same uid would be.
            let started = try ChildProcess.start("/usr/bin/unshare", ["--pid", "--fork", "--kill-child", "--",
                                                                      "/usr/sbin/runuser", "-u", target.readerUser, "--", "/bin/sleep", "300"])
            holder = started
            for _ in 0..<100 where sleeper == 0 {
                sleeper = Self.descendants(of: started.pid).first { Self.uid(of: $0) == readerUID } ?? 0
                if sleeper == 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            try #require(sleeper != 0, "the namespaced process did not start")
        }
        defer {
            if let holder {
                kill(holder.pid, SIGKILL)
                _ = holder.waitBlocking()
            }
        }
        #expect(kill(sleeper, 0) == 0 && Self.uid(of: sleeper) == readerUID, "the teardown killed a process of another PID namespace")
    }
}

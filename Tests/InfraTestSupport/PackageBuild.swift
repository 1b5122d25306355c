import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The Debian package `scripts/package.sh` builds, built at most once for one state of the tree: every suite that
/// needs it (the package checks, the quickstart) calls ``deb()``. A package in dist/ is reused only when the
/// stamp beside it names the same key (HEAD plus the uncommitted changes of every path the package is made of);
/// a file lock in dist/ keeps two test processes from building at once.
public enum PackageBuild {
    /// Why no package could be had, with the end of the script's output.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The programs `scripts/package.sh` needs, or nil when all are there (the reason to skip otherwise).
    public static let missingTools: String? = {
        let needed = ["/usr/bin/dpkg-deb", "/usr/bin/dpkg-shlibdeps", "/usr/bin/strip", "/usr/bin/git"]
        let missing = needed.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        if !missing.isEmpty { return "scripts/package.sh needs \(missing.joined(separator: ", ")) (apt-get install dpkg-dev binutils git)" }
        if !FileManager.default.fileExists(atPath: LoopbackTarget.repositoryRoot + "/.git") {
            return "scripts/package.sh builds from a git checkout; \(LoopbackTarget.repositoryRoot) is none"
        }
        return nil
    }()

    /// The paths the package is made of: a change under any of them means a new package.
    static let inputs = ["Package.swift", "Sources", "scripts/package.sh", "packaging", "system", "ansible",
                         "docs", "README.md", ".env.example", "inventory.example.yml"]

    /// The absolute path of a .deb built from the tree as it is now (built by the first caller, shared by the rest).
    public static func deb() async throws -> String {
        try await shared.value
    }

    private static let shared = Task { try await buildOrReuse() }

    private static var dist: String { LoopbackTarget.repositoryRoot + "/dist" }
    private static var stampPath: String { dist + "/.package-key" }

    private static func buildOrReuse() async throws -> String {
        try FileManager.default.createDirectory(atPath: dist, withIntermediateDirectories: true)
        let lock = try await FileLock.acquire(dist + "/.package.lock", deadline: .now + .seconds(3600))
        defer { lock.release() }
        let key = try await treeKey()
        if let reused = reusable(key: key) {
            print("PackageBuild: reusing \(reused) (built from this tree, key \(key.prefix(12)))")
            return reused
        }
        let started = ContinuousClock.now
        let outcome = try await ProcessRunner.run("/bin/bash", [LoopbackTarget.repositoryRoot + "/scripts/package.sh"],
                                                  currentDirectory: LoopbackTarget.repositoryRoot)
        let lastLine = outcome.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard outcome.status == 0, lastLine.hasSuffix(".deb"), FileManager.default.fileExists(atPath: lastLine) else {
            let tail = outcome.stderr.split(separator: "\n").suffix(30).joined(separator: "\n")
            throw Failure(description: "scripts/package.sh exited \(outcome.status), last stdout line '\(lastLine)':\n\(tail)")
        }
        print("PackageBuild: scripts/package.sh built \(lastLine) in \(started.duration(to: .now))")
        try (key + "\t" + lastLine + "\n").write(toFile: stampPath, atomically: true, encoding: .utf8)
        return lastLine
    }

    /// The package the stamp names, when it was built from a tree with this key and is still there.
    private static func reusable(key: String) -> String? {
        guard let stamp = try? String(contentsOfFile: stampPath, encoding: .utf8) else { return nil }
        let fields = stamp.trimmingCharacters(in: .newlines).split(separator: "\t", maxSplits: 1).map(String.init)
        guard fields.count == 2, fields[0] == key, FileManager.default.fileExists(atPath: fields[1]) else { return nil }
        return fields[1]
    }

    /// SHA-256 over HEAD, the uncommitted diff of the package's inputs, and the contents of their untracked files.
    static func treeKey() async throws -> String {
        let root = LoopbackTarget.repositoryRoot
        func git(_ arguments: [String]) async throws -> String {
            let outcome = try await ProcessRunner.run("/usr/bin/git", ["-C", root] + arguments)
            guard outcome.status == 0 else { throw Failure(description: "git \(arguments.joined(separator: " ")): \(outcome.stderr)") }
            return outcome.stdout
        }
        var hasher = SHA256()
        hasher.update(data: Data(try await git(["rev-parse", "HEAD"]).utf8))
        hasher.update(data: Data(try await git(["diff", "HEAD", "--binary", "--"] + inputs).utf8))
        let untracked = try await git(["ls-files", "--others", "--exclude-standard", "--"] + inputs)
        for path in untracked.split(separator: "\n").map(String.init).sorted() {
            hasher.update(data: Data(path.utf8))
            hasher.update(data: (try? Data(contentsOf: URL(fileURLWithPath: root + "/" + path))) ?? Data())
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// An exclusive `flock` on a file, polled until a deadline (never a blocking call on a concurrency thread).
struct FileLock {
    let descriptor: Int32

    /// Takes the lock on `path` (created if missing), polling every half second until `deadline`.
    static func acquire(_ path: String, deadline: ContinuousClock.Instant) async throws -> FileLock {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw PackageBuild.Failure(description: "cannot open the lock \(path): errno \(errno)") }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < deadline else {
                close(descriptor)
                throw PackageBuild.Failure(description: "another process held \(path) past the deadline")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return FileLock(descriptor: descriptor)
    }

    /// Gives the lock back and closes its descriptor.
    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

import Foundation

/// A sysadmin's machine for one test: a fresh, writable copy of the Debian 12 controller root (no Swift
/// toolchain; the package's dependencies, Python and sudo), entered with systemd-nspawn.
///
/// Built once by `Tests/targets/nspawn-controller.sh build` (scripts/install-deps.sh runs it); each test unpacks
/// its own copy under /var/tmp/mcp-infra-tests and removes it by that path. Commands run as root (or as an
/// account made inside the copy) with the host's network, so they reach nspawn targets at 10.231.N.2. Every
/// command runs with pip pointed at the cached wheel folder (PIP_NO_INDEX, PIP_FIND_LINKS=/wheels), so a
/// `pip install` of the quickstart's requirements works without the network.
public struct ControllerRoot: Sendable {
    /// The copy's root folder on the host.
    public let path: String

    static var script: String { LoopbackTarget.repositoryRoot + "/Tests/targets/nspawn-controller.sh" }

    /// Where the wheel folder appears inside the root.
    public static let wheelMount = "/wheels"

    /// True when the cached controller image and its wheel folder exist (scripts/install-deps.sh builds them).
    public static var hasImage: Bool {
        let cache = ProcessInfo.processInfo.environment["MCP_INFRA_CACHE"] ?? "/var/cache/mcp-linux-infra"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        return names.contains { $0.hasPrefix("debian12-controller-") && $0.hasSuffix(".tar.zst") }
            && names.contains { $0.hasPrefix("controller-wheels-") }
    }

    /// The message when the image is missing.
    public static let imageReason = "no controller image: run scripts/install-deps.sh (it runs Tests/targets/nspawn-controller.sh build)"

    /// Unpacks a fresh copy, runs `body`, and removes the copy whatever happens.
    public static func with<T>(_ body: (ControllerRoot) async throws -> T) async throws -> T {
        let root = try await create()
        do {
            let value = try await body(root)
            try root.remove()
            return value
        } catch {
            try? root.remove()
            throw error
        }
    }

    /// Unpacks a fresh copy of the controller image into a folder of its own.
    public static func create() async throws -> ControllerRoot {
        let parent = "/var/tmp/mcp-infra-tests"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let path = parent + "/controller-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let outcome = try await ProcessRunner.run("/bin/bash", [script, "copy", path])
        guard outcome.status == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw LoopbackTarget.TargetError(message: "the controller root could not be unpacked (exit \(outcome.status)): \(outcome.stderr)")
        }
        return ControllerRoot(path: path)
    }

    /// Removes the copy (nothing of it is mounted once its commands have exited).
    public func remove() throws {
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }

    /// The argument vector that runs `arguments` inside the root as root, in `directory`, for a caller that starts
    /// it itself (an MCP client spawning `serve` with its stdio piped).
    public func commandLine(_ arguments: [String], directory: String = "/root") async throws -> [String] {
        let wheels = try await ProcessRunner.run("/bin/bash", [Self.script, "wheels"])
        guard wheels.status == 0 else { throw LoopbackTarget.TargetError(message: wheels.stderr) }
        let folder = wheels.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return ["/bin/bash", Self.script, "run", path, "--chdir", directory,
                "--setenv", "PIP_NO_INDEX=1", "--setenv", "PIP_FIND_LINKS=\(Self.wheelMount)",
                "--bind-ro", "\(folder):\(Self.wheelMount)", "--"] + arguments
    }

    /// Runs `arguments` inside the root as root, in `directory`, and waits for it.
    public func run(_ arguments: [String], directory: String = "/root") async throws -> ProcessRunner.Outcome {
        let command = try await commandLine(arguments, directory: directory)
        return try await ProcessRunner.run(command[0], Array(command.dropFirst()))
    }

    /// Runs `script` under `bash -euo pipefail` inside the root: as root in /root, or as `user` (an account of the
    /// root) in its home folder, with the environment `runuser` gives it.
    public func shell(_ script: String, as user: String? = nil) async throws -> ProcessRunner.Outcome {
        let bash = ["/usr/bin/bash", "-euo", "pipefail", "-c", script]
        guard let user else { return try await run(bash) }
        return try await run(["/usr/sbin/runuser", "-u", user, "--"] + bash, directory: "/home/" + user)
    }

    /// The host path of a path inside the root.
    public func hostPath(_ inside: String) -> String { path + inside }
}

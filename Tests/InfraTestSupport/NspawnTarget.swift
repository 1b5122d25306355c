import Foundation

/// A real Debian 12 host booted with systemd-nspawn in a network namespace of its own, for one test.
///
/// Started by `Tests/targets/nspawn-target.sh up` and always stopped by `down`, which powers it off and
/// removes its cgroups, network namespace and state by the names it saved. The root filesystem is built
/// once by `nspawn-target.sh build` (scripts/install-deps.sh runs it); tests never reach the network.
public struct NspawnTarget: Sendable {
    /// The index the target was started with: it lives at 10.231.INDEX.2, the host side at 10.231.INDEX.1.
    public let index: Int
    /// The target's state directory (keys, known_hosts line, console log).
    public let stateDirectory: String

    /// The target's address.
    public var address: String { "10.231.\(index).2" }
    /// The address the target sees our connections come from.
    public var hostSideAddress: String { "10.231.\(index).1" }
    /// The key root accepts: the operator's bootstrap key, for Ansible.
    public var bootstrapKey: String { stateDirectory + "/bootstrap" }
    /// The target's pinned host key as one known_hosts line.
    public var knownHostsLine: String {
        ((try? String(contentsOfFile: stateDirectory + "/known_hosts", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
    /// The target's cgroup freezer: writing 1 stops every process of the target at once, 0 resumes them.
    public var freezeFile: String { "/sys/fs/cgroup/unified/mcpt-\(index)/cgroup.freeze" }
    /// The PID of the target's systemd-nspawn process.
    public var nspawnPID: Int32 {
        Int32(((try? String(contentsOfFile: stateDirectory + "/nspawn.pid.saved", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The message shown when end-to-end tests are skipped for lack of root.
    public static let rootReason = "needs root: boots systemd-nspawn targets in network namespaces (CI runs it as root)"

    static var script: String { LoopbackTarget.repositoryRoot + "/Tests/targets/nspawn-target.sh" }

    /// Boots one target per index, runs `body`, and stops every target whatever happens.
    /// Holds the shared side of ``TestGate`` meanwhile, like every other target.
    public static func with<T>(indexes: [Int], _ body: ([NspawnTarget]) async throws -> T) async throws -> T {
        await TestGate.shared.enter(exclusive: false)
        var started: [NspawnTarget] = []
        do {
            for index in indexes { started.append(try await start(index: index)) }
            let value = try await body(started)
            for target in started { try await target.stop() }
            await TestGate.shared.leave(exclusive: false)
            return value
        } catch {
            for target in started { try? await target.stop() }
            await TestGate.shared.leave(exclusive: false)
            throw error
        }
    }

    /// True when the cached root filesystem exists (scripts/install-deps.sh builds it).
    public static var hasImage: Bool {
        let cache = ProcessInfo.processInfo.environment["MCP_INFRA_CACHE"] ?? "/var/cache/mcp-linux-infra"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        return names.contains { $0.hasPrefix("debian12-target-") && $0.hasSuffix(".tar.zst") }
    }

    /// Boots the target at `index` and waits until systemd reports `running`.
    public static func start(index: Int) async throws -> NspawnTarget {
        try FileManager.default.createDirectory(atPath: "/run/mcp-infra-tests", withIntermediateDirectories: true)
        let state = "/run/mcp-infra-tests/nspawn-\(index)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let outcome = try await ProcessRunner.run("/bin/bash", [script, "up", state, "--index", String(index)])
        guard outcome.status == 0 else {
            throw LoopbackTarget.TargetError(message: "nspawn target \(index) did not boot (exit \(outcome.status)): \(outcome.stderr)")
        }
        return NspawnTarget(index: index, stateDirectory: state)
    }

    /// Powers the target off and removes everything `start` made.
    public func stop() async throws {
        let outcome = try await ProcessRunner.run("/bin/bash", [Self.script, "down", stateDirectory])
        guard outcome.status == 0 else {
            throw LoopbackTarget.TargetError(message: "nspawn target teardown failed: \(outcome.stderr)")
        }
    }

    /// Runs `arguments` as root on the target over SSH with the bootstrap key: the operator's view, used to
    /// check what the role did. sshd hands the command to root's shell, so every word is single-quoted.
    public func root(_ arguments: [String]) async throws -> ProcessRunner.Outcome {
        let command = try rootCommand(arguments)
        return try await ProcessRunner.run(command[0], Array(command.dropFirst()))
    }

    /// The argument vector (`/usr/bin/ssh …`) that ``root(_:)`` runs, for a test client that runs it itself.
    public func rootCommand(_ arguments: [String]) throws -> [String] {
        if let word = arguments.first(where: { $0.contains("'") || $0.contains(where: \.isNewline) }) {
            throw LoopbackTarget.TargetError(message: "root(): word \(word) cannot be single-quoted")
        }
        let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
        return ["/usr/bin/ssh",
            "-i", bootstrapKey, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(stateDirectory)/known_hosts",
            "-o", "ControlMaster=no", "-o", "ConnectTimeout=10", "-l", "root", "--", address, quoted,
        ]
    }

    /// The host side of the target's veth pair: set it down and the target is cut off.
    public var hostLink: String { "mcpt-\(index)h" }
}

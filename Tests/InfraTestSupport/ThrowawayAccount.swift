import Foundation

/// A Unix account of a test's own, with a unique name, for running the real binary as someone other than root (an
/// approver without the operator's permissions). Made and removed by its name under the lock every account change
/// takes (``AccountTools``). Needs root.
public struct ThrowawayAccount: Sendable {
    /// The login name (`mcpfx` and 8 hex digits).
    public let name: String

    /// Why tests that need one are skipped when not root.
    public static let rootReason = "needs root: creates a throwaway Unix account and runs the binary as it (CI runs it as root)"

    /// Creates the account, runs `body`, and always removes the account again (by its name).
    public static func with<T>(_ body: (ThrowawayAccount) async throws -> T) async throws -> T {
        let account = ThrowawayAccount(name: "mcpfx" + UUID().uuidString.lowercased().prefix(8))
        let made = try await AccountTools.run("useradd", ["-M", "-N", "-s", "/usr/sbin/nologin", "--", account.name])
        guard made.status == 0 else { throw LoopbackTarget.TargetError(message: "useradd \(account.name): \(made.stderr)") }
        let result: T
        do {
            result = try await body(account)
        } catch {
            _ = try? await AccountTools.run("userdel", ["--", account.name])
            throw error
        }
        let removed = try await AccountTools.run("userdel", ["--", account.name])
        guard removed.status == 0 else { throw LoopbackTarget.TargetError(message: "userdel \(account.name): \(removed.stderr)") }
        return result
    }

    /// Runs `executable arguments` as this account (runuser, an argument vector), with `environment` only.
    public func run(_ executable: String, _ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"],
                    currentDirectory: String = "/") async throws -> ProcessRunner.Outcome {
        try await ProcessRunner.run("/usr/sbin/runuser", ["-u", name, "--", "/usr/bin/env", "-i"]
                                        + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [executable] + arguments,
                                    currentDirectory: currentDirectory)
    }
}

import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import InfraTestSupport
import Logging
import Testing

let requiresRoot = ConditionTrait.enabled(if: LoopbackTarget.isRoot, Comment(rawValue: LoopbackTarget.rootReason))

/// A loopback target with the real system/ scripts installed, and a pool to talk to it.
struct SystemTarget {
    let target: LoopbackTarget
    let configuration: LoadedConfiguration
    let pool: SSHPool

    var state: String { target.stateDirectory }
    var lib: String { state + "/prefix/lib/mcp-linux-infra" }
    var host: InventoryHost { configuration.inventory.hosts[0] }

    /// Starts a target with `--system`, runs `body`, and always stops both.
    static func with(extraCatalogue: String? = nil, _ body: (SystemTarget) async throws -> Void) async throws {
        var arguments = ["--system"]
        let extraPath = FileManager.default.temporaryDirectory.appendingPathComponent("extra-\(UUID().uuidString).tsv").path
        defer { try? FileManager.default.removeItem(atPath: extraPath) }
        if let extraCatalogue {
            try extraCatalogue.write(toFile: extraPath, atomically: true, encoding: .utf8)
            arguments += ["--extra-catalogue", extraPath]
        }
        try await LoopbackTarget.with(extraArguments: arguments) { target in
            let configuration = try target.configuration()
            let pool = SSHPool(options: SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys,
                               logger: Logger(label: "target-tests"))
            do {
                try await body(SystemTarget(target: target, configuration: configuration, pool: pool))
                await pool.shutdown()
            } catch {
                await pool.shutdown()
                throw error
            }
        }
    }

    /// Sends a request to mcp-wrapper as the reader.
    func read(_ request: String) async throws -> ExecResult {
        try await pool.execute(host: host, credentials: configuration.reader, command: request, timeout: .seconds(25))
    }

    /// Sends a request to pra-exec as the runner.
    func act(_ request: String) async throws -> ExecResult {
        try await pool.execute(host: host, credentials: configuration.runner, command: request, timeout: .seconds(25))
    }

    /// The audit lines the target logged so far.
    func auditLines() -> [String] {
        ((try? String(contentsOfFile: state + "/audit.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits briefly for the audit sink to catch up (datagrams are asynchronous).
    func auditLines(count: Int) async -> [String] {
        for _ in 0..<100 {
            let lines = auditLines()
            if lines.count >= count { return lines }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return auditLines()
    }
}

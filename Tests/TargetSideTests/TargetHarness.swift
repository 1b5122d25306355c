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
    static func with(extraCatalogue: String? = nil, extraArguments: [String] = [], _ body: (SystemTarget) async throws -> Void) async throws {
        var arguments = ["--system"] + extraArguments
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

    /// Sends a request to pra-exec as the runner, with these signed approvals on stdin, then `extraStdin`
    /// (for example an `audit-head SEQ HEX` line) as given.
    func act(_ request: String, approvals: [SignedApproval] = [], extraStdin: String = "") async throws -> ExecResult {
        try await pool.execute(host: host, credentials: configuration.runner, command: request,
                               stdin: Array((approvals.map(\.stdinLine).joined() + extraStdin).utf8), timeout: .seconds(25))
    }

    /// The key of one of the target's approvers (alice or bob).
    func approverKey(_ name: String) -> String { state + "/approvers/" + name }

    /// A statement for this target as the server would make it: its inventory name and pinned ed25519 key,
    /// the catalogue installed on it, the request's digest (ApprovalDigest), a window around now.
    func statement(id: String, action: String, parameters: [String: String] = [:], principal: String = "alice@loopback",
                   from: TimeInterval = -5, until: TimeInterval = 600) throws -> ApprovalStatement {
        let catalogue = try TestApprovals.sha256(ofFile: lib + "/pra-catalogue.tsv"), now = Date()
        return ApprovalStatement(
            proposalID: id, host: "loopback",
            hostKeyFingerprint: try TestApprovals.fingerprint(ofPublicKeyFile: state + "/hostkeys/ssh_host_ed25519_key.pub"),
            action: action, parameters: parameters, catalogueVersion: catalogue,
            digest: ApprovalDigest.compute(action: action, host: "loopback", parameters: parameters, catalogueVersion: catalogue),
            principal: principal, notBefore: now.addingTimeInterval(from), notAfter: now.addingTimeInterval(until),
            auditHead: .init(sequence: 1, hash: String(repeating: "0", count: 64)))
    }

    /// Signs `statement` with an approver's key (alice unless named).
    func sign(_ statement: ApprovalStatement, by approver: String = "alice") async throws -> SignedApproval {
        try await TestApprovals.sign(statement, keyFile: approverKey(approver))
    }

    /// Runs `request` (which must carry `id=ID`) approved by alice's signature over its own statement.
    func actApproved(_ action: String, _ parameters: [String: String] = [:], id: String) async throws -> ExecResult {
        let words = [action] + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" } + ["id=\(id)"]
        let signed = try await sign(try statement(id: id, action: action, parameters: parameters))
        return try await act(words.joined(separator: " "), approvals: [signed])
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

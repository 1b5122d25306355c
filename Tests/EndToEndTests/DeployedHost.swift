import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import InfraTestSupport
import Logging
import Testing

/// End-to-end tests need root (nspawn, network namespaces) and the Ansible virtualenv. When root is there
/// but a prerequisite is missing the tests fail, naming the step that makes it: CI must never skip them.
let endToEnd = ConditionTrait.enabled(if: LoopbackTarget.isRoot, Comment(rawValue: NspawnTarget.rootReason))

/// Fails with the fix when scripts/install-deps.sh has not prepared Ansible and the target image.
func requirePrerequisites() throws {
    guard DeploymentWorkspace.hasAnsible else {
        throw LoopbackTarget.TargetError(message: DeploymentWorkspace.ansibleReason)
    }
    guard NspawnTarget.hasImage else {
        throw LoopbackTarget.TargetError(message: "no target image: run scripts/install-deps.sh (it runs Tests/targets/nspawn-target.sh build)")
    }
}

/// The product's own SSH path to a deployed workspace: the configuration the server would load (from the
/// same inventory Ansible used) and a pool that talks to mcp-wrapper and pra-exec.
struct DeployedFleet {
    let workspace: DeploymentWorkspace
    let configuration: LoadedConfiguration
    let pool: SSHPool

    /// Loads the workspace's .env, runs `body`, and always shuts the pool down.
    static func with(_ workspace: DeploymentWorkspace, _ body: (DeployedFleet) async throws -> Void) async throws {
        let configuration = try ConfigurationLoader.load(environment: [:], envFile: workspace.envFile)
        try await SSHPool.with(options: SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys,
                               logger: Logger(label: "e2e")) { pool in
            try await body(DeployedFleet(workspace: workspace, configuration: configuration, pool: pool))
        }
    }

    func host(_ name: String) throws -> InventoryHost {
        guard let host = configuration.inventory.hosts.first(where: { $0.name == name }) else {
            throw LoopbackTarget.TargetError(message: "no host \(name) in the inventory")
        }
        return host
    }

    /// One mcp-wrapper request as the reader.
    func read(_ host: String, _ request: String) async throws -> ExecResult {
        try await pool.execute(host: try self.host(host), credentials: configuration.reader, command: request, timeout: .seconds(40))
    }

    /// The host's journal lines matching `grep` (the wrapper's `journal` verb), read again until `complete`
    /// holds or 20 s pass: journald files a line a moment after the process that logged it has exited.
    func journal(_ host: String, grep: String, lines: Int, until complete: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let text = try await read(host, "journal grep=\(grep) lines=\(lines)").stdoutText
            if complete(text) || ContinuousClock.now >= deadline { return text }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// One pra-exec request as the runner.
    func act(_ host: String, _ request: String) async throws -> ExecResult {
        try await pool.execute(host: try self.host(host), credentials: configuration.runner, command: request, timeout: .seconds(60))
    }

    /// A statement for `host` as the server makes it: the host's pinned key, the server's catalogue, the
    /// request's digest, a window around now (`from`, `until` seconds).
    func statement(_ host: String, _ action: String, _ parameters: [String: String] = [:], id: String,
                   principal: String = "alice@example.org", from: TimeInterval = -5, until: TimeInterval = 600) throws -> ApprovalStatement {
        let inventoryHost = try self.host(host)
        let request = try ActionRequest.make(actionName: action, host: inventoryHost, parameters: parameters, catalogue: configuration.catalogue)
        return ApprovalStatement(
            proposalID: id, host: host,
            hostKeyFingerprint: configuration.hostKeys.pinnedFingerprints(address: inventoryHost.address, port: inventoryHost.port).first ?? "",
            action: action, parameters: parameters, catalogueVersion: configuration.catalogue.version,
            digest: request.digest(catalogueVersion: configuration.catalogue.version), principal: principal,
            notBefore: Date().addingTimeInterval(from), notAfter: Date().addingTimeInterval(until),
            auditHead: .init(sequence: 1, hash: String(repeating: "0", count: 64)))
    }

    /// Signs a statement with an approver's key file (alice or bob of the workspace, or any key file).
    func sign(_ statement: ApprovalStatement, by name: String = "alice", keyFile: String? = nil,
              namespace: String = ApprovalStatement.namespace) async throws -> SignedApproval {
        try await TestApprovals.sign(statement, keyFile: keyFile ?? workspace.approverKey(name), namespace: namespace)
    }

    /// One pra-exec request as the runner with these signed approvals on stdin.
    func act(_ host: String, _ request: String, approvals: [SignedApproval]) async throws -> ExecResult {
        try await pool.execute(host: try self.host(host), credentials: configuration.runner, command: request,
                               stdin: Array(approvals.map(\.stdinLine).joined().utf8), timeout: .seconds(60))
    }

    /// One pra-exec request as the runner, approved by signed statements of `approvers` (alice, bob) made
    /// the way the server makes them.
    func actApproved(_ host: String, _ action: String, _ parameters: [String: String] = [:], id: String,
                     approvers: [String] = ["alice"]) async throws -> ExecResult {
        var signed: [SignedApproval] = []
        for name in approvers {
            signed.append(try await sign(try statement(host, action, parameters, id: id, principal: "\(name)@example.org"), by: name))
        }
        let request = try ActionRequest.make(actionName: action, host: try self.host(host), parameters: parameters, catalogue: configuration.catalogue)
        return try await act(host, request.execRequest(correlation: id), approvals: signed)
    }

    /// A property of a unit, read through the reader (unit-show).
    func unitProperty(_ host: String, _ unit: String, _ property: String) async throws -> String? {
        let result = try await read(host, "unit-show unit=\(unit)")
        return result.stdoutText.split(separator: "\n").first { $0.hasPrefix(property + "=") }
            .map { String($0.dropFirst(property.count + 1)) }
    }
}

/// The verbs mcp-wrapper accepts, read from its case labels.
func wrapperVerbs() throws -> Set<String> {
    let text = try String(contentsOfFile: LoopbackTarget.repositoryRoot + "/system/mcp-wrapper", encoding: .utf8)
    let caseBlock = text[text.range(of: "case \"$verb\" in")!.upperBound...]
    var verbs: Set<String> = []
    for line in caseBlock.split(separator: "\n") {
        guard line.hasPrefix("  "), !line.hasPrefix("   "), let paren = line.firstIndex(of: ")") else { continue }
        let label = line[line.index(line.startIndex, offsetBy: 2)..<paren]
        if label.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }), !label.isEmpty { verbs.insert(String(label)) }
    }
    return verbs
}

/// The action names of the catalogue in system/.
func catalogueActions() throws -> [String] {
    let text = try String(contentsOfFile: LoopbackTarget.repositoryRoot + "/system/pra-catalogue.tsv", encoding: .utf8)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: "\t").first.map(String.init) }
}

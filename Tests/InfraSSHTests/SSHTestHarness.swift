import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import InfraTestSupport
import Logging
import Testing

/// Skips a test unless it runs as root, with the reason shown in the test output.
let requiresRoot = ConditionTrait.enabled(if: LoopbackTarget.isRoot, Comment(rawValue: LoopbackTarget.rootReason))

/// Runs `body` with a pool over `configuration` and always shuts the pool down.
func withPool<T>(_ configuration: LoadedConfiguration, options: SSHPoolOptions? = nil, logger: Logger = Logger(label: "test"),
                 _ body: (SSHPool) async throws -> T) async throws -> T {
    try await SSHPool.with(options: options ?? SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys,
                           logger: logger, body)
}

extension LoadedConfiguration {
    /// The first (only) host of a loopback target's inventory.
    var loopbackHost: InventoryHost { inventory.hosts[0] }
}

/// The fingerprint of a public key file, as ssh-keygen prints it.
func fingerprint(ofPublicKeyFile path: String) throws -> String {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try SSHPublicKey.parseLine(text.trimmingCharacters(in: .whitespacesAndNewlines)).fingerprint
}

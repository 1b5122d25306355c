import Crypto
import Foundation
import InfraDomain

/// Signed approvals for tests, made the way an approver on another machine makes them: the canonical
/// statement text, signed by OpenSSH's own `ssh-keygen -Y sign` with a key file.
public enum TestApprovals {
    /// Signs `text` with `keyFile` for `namespace` (ours unless a test wants another).
    public static func sign(_ text: String, keyFile: String, namespace: String = ApprovalStatement.namespace) async throws -> SignedApproval {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sign-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try text.write(toFile: folder + "/statement", atomically: false, encoding: .utf8)
        let signed = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-Y", "sign", "-n", namespace, "-f", keyFile, "--", folder + "/statement"])
        guard signed.status == 0 else { throw LoopbackTarget.TargetError(message: "ssh-keygen -Y sign failed: \(signed.stderr)") }
        return SignedApproval(statement: text, signature: try String(contentsOfFile: folder + "/statement.sig", encoding: .utf8))
    }

    /// Signs a statement (its canonical text).
    public static func sign(_ statement: ApprovalStatement, keyFile: String, namespace: String = ApprovalStatement.namespace) async throws -> SignedApproval {
        try await sign(try statement.text(), keyFile: keyFile, namespace: namespace)
    }

    /// A new ed25519 key pair in `folder` (returns the private key's path).
    public static func makeKey(in folder: String, name: String) async throws -> String {
        let path = folder + "/" + name
        let made = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
        guard made.status == 0 else { throw LoopbackTarget.TargetError(message: "ssh-keygen failed: \(made.stderr)") }
        return path
    }

    /// "sha256:HEX" of a file's bytes (the catalogue a statement binds to).
    public static func sha256(ofFile path: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The SHA256 fingerprint of a public key file.
    public static func fingerprint(ofPublicKeyFile path: String) throws -> String {
        try SSHPublicKey.parseLine(try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)).fingerprint
    }
}

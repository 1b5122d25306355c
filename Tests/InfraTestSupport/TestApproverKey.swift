import Crypto
import Foundation
import InfraDomain

/// An approver's ed25519 key held in the test process, signing statements as `ssh-keygen -Y sign` does
/// (OpenSSH's PROTOCOL.sshsig, hash sha512), without spawning ssh-keygen: the use-case tests sign dozens of
/// statements and stay fast. The key is derived from a name, so a test's keys are the same on every run.
/// (`TestApproverKeyTests` checks that OpenSSH's own `ssh-keygen -Y check-novalidate` accepts what it signs.)
public struct TestApproverKey: Sendable {
    /// The principal the key signs as by default (`NAME@example.org`).
    public let principal: String
    /// The private key's 32 bytes (derived from the name).
    let seed: [UInt8]

    /// The key of `name`: the same name gives the same key.
    public init(_ name: String, principal: String? = nil) {
        self.principal = principal ?? "\(name)@example.org"
        self.seed = Array(SHA256.hash(data: Array("mcp-linux-infra test key \(name)".utf8)))
    }

    var privateKey: Curve25519.Signing.PrivateKey { try! Curve25519.Signing.PrivateKey(rawRepresentation: seed) }

    /// The public key, as an `.pub` line would give it.
    public var publicKey: SSHPublicKey {
        SSHPublicKey(type: .ed25519, blob: Self.string(Array("ssh-ed25519".utf8)) + Self.string(Array(privateKey.publicKey.rawRepresentation)),
                     comment: principal)
    }

    /// This key as an inventory approver (under its principal, or another one).
    public func approver(as principal: String? = nil) -> Approver {
        Approver(principal: principal ?? self.principal, key: publicKey)
    }

    /// The armored SSHSIG over `text` for `namespace` (ours unless a test wants another).
    public func signature(over text: String, namespace: String = ApprovalStatement.namespace) -> String {
        let hash = Array(SHA512.hash(data: Array(text.utf8)))
        let signed = Array("SSHSIG".utf8) + Self.string(Array(namespace.utf8)) + Self.string([]) + Self.string(Array("sha512".utf8))
            + Self.string(hash)
        let raw = try! privateKey.signature(for: signed)
        var blob = Array("SSHSIG".utf8) + [0, 0, 0, 1]
        blob += Self.string(publicKey.blob) + Self.string(Array(namespace.utf8)) + Self.string([]) + Self.string(Array("sha512".utf8))
        blob += Self.string(Self.string(Array("ssh-ed25519".utf8)) + Self.string(Array(raw)))
        let body = Data(blob).base64EncodedString()
        let lines = stride(from: 0, to: body.count, by: 70).map { start -> String in
            let from = body.index(body.startIndex, offsetBy: start)
            return String(body[from..<(body.index(from, offsetBy: 70, limitedBy: body.endIndex) ?? body.endIndex)])
        }
        return (["-----BEGIN SSH SIGNATURE-----"] + lines + ["-----END SSH SIGNATURE-----"]).joined(separator: "\n") + "\n"
    }

    /// The statement's canonical text with this key's signature over it.
    public func sign(_ text: String, namespace: String = ApprovalStatement.namespace) -> SignedApproval {
        SignedApproval(statement: text, signature: signature(over: text, namespace: namespace))
    }

    /// A statement signed with this key.
    public func sign(_ statement: ApprovalStatement) throws -> SignedApproval {
        sign(try statement.text())
    }

    /// An SSH wire-format string: a 32-bit big-endian length, then the bytes.
    static func string(_ bytes: [UInt8]) -> [UInt8] {
        let count = UInt32(bytes.count)
        return [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)] + bytes
    }
}

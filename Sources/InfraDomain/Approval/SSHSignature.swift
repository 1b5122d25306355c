import Crypto
import Foundation

/// An OpenSSH signature (SSHSIG, OpenSSH's PROTOCOL.sshsig), as `ssh-keygen -Y sign` writes it, and its
/// verification without OpenSSH: the format is parsed here and the signature checked with swift-crypto.
///
/// Accepted: `ssh-ed25519` and `ecdsa-sha2-nistp256/384/521` keys, hash `sha256` or `sha512`. RSA is refused
/// as everywhere in this project. FIDO keys (`sk-ssh-ed25519@openssh.com`) sign a different blob (with
/// flags and a counter); they are recognised and refused by name, so adding them later is one case here.
public struct SSHSignature: Sendable, Equatable {
    /// The signer's public key (wire format) and its type.
    public let publicKey: SSHPublicKey
    /// The namespace the signer signed for.
    public let namespace: String
    /// `sha256` or `sha512`: the hash of the message that was signed.
    public let hashAlgorithm: String
    /// The signature's own format name and bytes.
    let signatureFormat: String
    let signatureBlob: [UInt8]

    /// Why a signature is not accepted.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case unsupportedKey(String)
        case wrongNamespace(expected: String, found: String)
        case badSignature

        public var description: String {
            switch self {
            case .malformed(let why): "not an SSH signature: \(why)"
            case .unsupportedKey(let type): "signature key type \(type) is not accepted (ed25519 or ECDSA only; RSA is refused)"
            case .wrongNamespace(let expected, let found): "signed for namespace '\(found)', not '\(expected)'"
            case .badSignature: "the signature does not match the statement"
            }
        }
    }

    static let magic = Array("SSHSIG".utf8)

    /// Parses the armored text `-----BEGIN SSH SIGNATURE----- … -----END SSH SIGNATURE-----`.
    public static func parse(armored text: String) throws(Problem) -> SSHSignature {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: "-----BEGIN SSH SIGNATURE-----"),
              let end = lines.firstIndex(of: "-----END SSH SIGNATURE-----"), begin < end else {
            throw .malformed("no BEGIN/END SSH SIGNATURE lines")
        }
        guard let data = Data(base64Encoded: lines[(begin + 1)..<end].joined()) else { throw .malformed("the body is not base64") }
        return try parse(blob: [UInt8](data))
    }

    /// Parses the binary form.
    static func parse(blob: [UInt8]) throws(Problem) -> SSHSignature {
        var reader = SSHWireReader(blob)
        guard reader.readBytes(6) == magic else { throw .malformed("it does not start with SSHSIG") }
        guard reader.readUInt32() == 1 else { throw .malformed("unknown SSHSIG version") }
        guard let keyBlob = reader.readString(), let namespace = reader.readString(), reader.readString() != nil,
              let hash = reader.readString(), let signature = reader.readString(), reader.isAtEnd else {
            throw .malformed("truncated or with trailing data")
        }
        guard let keyType = SSHPublicKey.algorithmName(ofBlob: keyBlob) else { throw .malformed("the public key is unreadable") }
        let key: SSHPublicKey
        do {
            key = try SSHPublicKey.parse(type: keyType, base64: Data(keyBlob).base64EncodedString())
        } catch {
            throw .unsupportedKey(keyType)
        }
        var inner = SSHWireReader(signature)
        guard let format = inner.readString(), let bytes = inner.readString(), inner.isAtEnd else {
            throw .malformed("the signature field is truncated")
        }
        let hashName = String(decoding: hash, as: UTF8.self)
        guard hashName == "sha256" || hashName == "sha512" else { throw .malformed("hash \(hashName) is not sha256 or sha512") }
        return SSHSignature(publicKey: key, namespace: String(decoding: namespace, as: UTF8.self), hashAlgorithm: hashName,
                            signatureFormat: String(decoding: format, as: UTF8.self), signatureBlob: bytes)
    }

    /// The bytes the signer's key signed for `message` (PROTOCOL.sshsig: magic, namespace, reserved, hash, H(message)).
    func signedData(for message: [UInt8]) -> [UInt8] {
        let digest: [UInt8] = hashAlgorithm == "sha512" ? Array(SHA512.hash(data: message)) : Array(SHA256.hash(data: message))
        var data = Self.magic
        for field in [Array(namespace.utf8), [], Array(hashAlgorithm.utf8), digest] {
            data += SSHWireWriter.string(field)
        }
        return data
    }

    /// Checks that this signature is by ``publicKey``, for `namespace`, over exactly `message`.
    public func verify(message: [UInt8], namespace expected: String) throws(Problem) {
        guard namespace == expected else { throw .wrongNamespace(expected: expected, found: namespace) }
        guard signatureFormat == publicKey.type.rawValue else { throw .malformed("signature format \(signatureFormat) does not match the key") }
        let data = signedData(for: message)
        var keyReader = SSHWireReader(publicKey.blob)
        _ = keyReader.readString()
        let valid: Bool
        switch publicKey.type {
        case .ed25519:
            guard let raw = keyReader.readString(), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw .malformed("bad ed25519 key")
            }
            valid = key.isValidSignature(signatureBlob, for: data)
        case .ecdsaP256, .ecdsaP384, .ecdsaP521:
            _ = keyReader.readString()
            guard let point = keyReader.readString() else { throw .malformed("bad ECDSA key") }
            var sigReader = SSHWireReader(signatureBlob)
            guard let r = sigReader.readString(), let s = sigReader.readString(), sigReader.isAtEnd else {
                throw .malformed("bad ECDSA signature")
            }
            valid = Self.verifyECDSA(type: publicKey.type, point: point, r: r, s: s, data: data)
        }
        guard valid else { throw .badSignature }
    }

    private static func verifyECDSA(type: SSHKeyType, point: [UInt8], r: [UInt8], s: [UInt8], data: [UInt8]) -> Bool {
        // SSH mpints are big-endian with a leading zero when the top bit is set; raw form wants fixed width.
        func fixed(_ value: [UInt8], _ width: Int) -> [UInt8]? {
            let trimmed = Array(value.drop { $0 == 0 })
            guard trimmed.count <= width else { return nil }
            return [UInt8](repeating: 0, count: width - trimmed.count) + trimmed
        }
        switch type {
        case .ecdsaP256:
            guard let r = fixed(r, 32), let s = fixed(s, 32), let key = try? P256.Signing.PublicKey(x963Representation: point),
                  let signature = try? P256.Signing.ECDSASignature(rawRepresentation: r + s) else { return false }
            return key.isValidSignature(signature, for: data)
        case .ecdsaP384:
            guard let r = fixed(r, 48), let s = fixed(s, 48), let key = try? P384.Signing.PublicKey(x963Representation: point),
                  let signature = try? P384.Signing.ECDSASignature(rawRepresentation: r + s) else { return false }
            return key.isValidSignature(signature, for: data)
        case .ecdsaP521:
            guard let r = fixed(r, 66), let s = fixed(s, 66), let key = try? P521.Signing.PublicKey(x963Representation: point),
                  let signature = try? P521.Signing.ECDSASignature(rawRepresentation: r + s) else { return false }
            return key.isValidSignature(signature, for: data)
        case .ed25519:
            return false
        }
    }
}

/// Writes SSH wire-format fields.
enum SSHWireWriter {
    static func string(_ bytes: [UInt8]) -> [UInt8] {
        let count = UInt32(bytes.count)
        return [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)] + bytes
    }
}

import Foundation

/// What can be learnt from a private key file without decrypting it: its algorithm, its public
/// half and whether it is protected by a passphrase.
///
/// Only the OpenSSH format (`-----BEGIN OPENSSH PRIVATE KEY-----`, what `ssh-keygen` writes) is read
/// in full; PEM RSA keys are recognised in order to refuse them with a clear message.
public struct OpenSSHPrivateKeyInfo: Sendable, Equatable {
    public var publicKey: SSHPublicKey
    public var isEncrypted: Bool

    /// Why a private key text is not accepted.
    public enum ParseProblem: Error, Equatable {
        case rsa
        case unsupportedType(String)
        case notOpenSSHFormat
        case malformed(String)
    }

    /// Inspects the text of a private key file.
    public static func inspect(_ text: String) throws(ParseProblem) -> OpenSSHPrivateKeyInfo {
        if text.contains("BEGIN RSA PRIVATE KEY") { throw .rsa }
        let begin = "-----BEGIN OPENSSH PRIVATE KEY-----"
        let end = "-----END OPENSSH PRIVATE KEY-----"
        guard let start = text.range(of: begin), let stop = text.range(of: end), start.upperBound <= stop.lowerBound else {
            throw .notOpenSSHFormat
        }
        let body = text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: String(body)) else { throw .malformed("the key body is not valid base64") }
        var reader = SSHWireReader([UInt8](data))
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard reader.readBytes(magic.count) == magic,
              let cipher = reader.readString(),
              reader.readString() != nil,  // kdf name
              reader.readString() != nil,  // kdf options
              let count = reader.readUInt32(), count == 1,
              let publicBlob = reader.readString()
        else { throw .malformed("the key is not a single-key openssh-key-v1 structure") }
        var blobReader = SSHWireReader(publicBlob)
        guard let typeBytes = blobReader.readString() else { throw .malformed("the public half has no algorithm name") }
        let typeName = String(decoding: typeBytes, as: UTF8.self)
        switch SSHKeyType.classify(typeName) {
        case .supported(let type):
            return OpenSSHPrivateKeyInfo(
                publicKey: SSHPublicKey(type: type, blob: publicBlob),
                isEncrypted: String(decoding: cipher, as: UTF8.self) != "none")
        case .rsa: throw .rsa
        case .unsupported: throw .unsupportedType(typeName)
        }
    }
}

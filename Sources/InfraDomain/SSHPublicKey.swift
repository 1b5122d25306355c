import Crypto
import Foundation

/// An OpenSSH public key: algorithm, wire-format blob and comment.
public struct SSHPublicKey: Sendable, Equatable {
    public var type: SSHKeyType
    /// The key in SSH wire format (what the base64 field of a `.pub` line decodes to).
    public var blob: [UInt8]
    public var comment: String

    /// Creates a key from its parts.
    public init(type: SSHKeyType, blob: [UInt8], comment: String = "") {
        self.type = type
        self.blob = blob
        self.comment = comment
    }

    /// The fingerprint exactly as `ssh-keygen -lf` prints it: `SHA256:` and unpadded base64.
    public var fingerprint: String { Self.fingerprint(ofBlob: blob) }

    /// The OpenSSH SHA256 fingerprint of a wire-format key blob.
    public static func fingerprint(ofBlob blob: [UInt8]) -> String {
        let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
    }

    /// The reasons a key text is not accepted.
    public enum ParseProblem: Error, Equatable {
        case rsa
        case unsupportedType(String)
        case malformed(String)
    }

    /// Parses the algorithm and base64 fields (as in a `.pub` file or after the host patterns of a
    /// known_hosts line). The algorithm named in the text must match the one inside the blob.
    public static func parse(type typeName: String, base64: String, comment: String = "") throws(ParseProblem) -> SSHPublicKey {
        let type: SSHKeyType
        switch SSHKeyType.classify(typeName) {
        case .supported(let t): type = t
        case .rsa: throw .rsa
        case .unsupported: throw .unsupportedType(typeName)
        }
        guard let data = Data(base64Encoded: base64), !data.isEmpty else {
            throw .malformed("the key field is not valid base64")
        }
        let blob = [UInt8](data)
        var reader = SSHWireReader(blob)
        guard let inner = reader.readString(), String(decoding: inner, as: UTF8.self) == typeName else {
            throw .malformed("the key data does not start with its algorithm name \(typeName)")
        }
        // The rest of the blob must have exactly the shape of its algorithm (RFC 8709, RFC 5656).
        switch type {
        case .ed25519:
            guard reader.readString()?.count == 32, reader.isAtEnd else {
                throw .malformed("the ed25519 key is truncated or has trailing data")
            }
        case .ecdsaP256, .ecdsaP384, .ecdsaP521:
            let curve = String(typeName.dropFirst("ecdsa-sha2-".count))
            guard let name = reader.readString(), String(decoding: name, as: UTF8.self) == curve,
                  let point = reader.readString(), point.first == 0x04, reader.isAtEnd else {
                throw .malformed("the ECDSA key is truncated or names another curve")
            }
        }
        return SSHPublicKey(type: type, blob: blob, comment: comment)
    }

    /// Parses one line of an OpenSSH `.pub` file: `type base64 [comment]`.
    public static func parseLine(_ line: String) throws(ParseProblem) -> SSHPublicKey {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count >= 2 else {
            throw .malformed("expected 'TYPE BASE64 [COMMENT]'")
        }
        return try parse(type: fields[0], base64: fields[1], comment: fields.dropFirst(2).joined(separator: " "))
    }

    /// The algorithm name a wire-format key blob starts with, if it is well formed.
    public static func algorithmName(ofBlob blob: [UInt8]) -> String? {
        var reader = SSHWireReader(blob)
        return reader.readString().map { String(decoding: $0, as: UTF8.self) }
    }

    /// The key as one `.pub`/known_hosts field pair: `type base64`.
    public var openSSHText: String { "\(type.rawValue) \(Data(blob).base64EncodedString())" }
}

/// Reads SSH wire-format fields (RFC 4251 `uint32` and `string`).
struct SSHWireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func readUInt32() -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return value
    }

    mutating func readString() -> [UInt8]? {
        guard let length = readUInt32(), Int(length) <= bytes.count - offset else { return nil }
        let value = Array(bytes[offset..<offset + Int(length)])
        offset += Int(length)
        return value
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
}

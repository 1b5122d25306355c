import Crypto
import Foundation

/// Logging in to the review console with an approver's SSH key, as pure rules: the challenge an approver
/// signs (a single-use nonce with an end), the SSHSIG namespace it is signed for, and the check of a pasted
/// signature against the approvers the inventory lists (`mcp_approvers`, any host).
///
/// The namespace is the console's own (``namespace``), never the approval one: `ssh-keygen -Y verify` and
/// ``SSHSignature/verify(message:namespace:)`` bind a signature to its namespace, so a login signature can
/// never pass as an approval, nor an approval as a login. The challenge's text has its own header too, so
/// not even its bytes can be read as a statement. Pure: the caller draws the random bytes and the key, and
/// keeps each answered nonce single-use.
///
/// A server keeps nothing per challenge it gives out (so nobody can make it forget a challenge by asking for
/// many): the nonce carries its own end and a MAC under the server's key (``issue(random:notAfter:key:)``),
/// and ``issued(nonce:key:)`` reads it back only when that key made it.
///
/// The text, one line (signed with or without its final newline: `echo` adds one, a copied line may not):
/// ```
/// mcp-linux-infra console login v1 nonce=<64 hex digits> not-after=2026-11-29T17:05:00Z
/// ```
public struct ConsoleLogin: Sendable, Equatable {
    /// The SSHSIG namespace of console logins (`ssh-keygen -Y sign -n`).
    public static let namespace = "console-login@mcp-linux-infra"
    /// The start of every challenge; a later format gets a new version.
    public static let header = "mcp-linux-infra console login v1"
    /// How many random bytes a nonce has (256 bits).
    public static let nonceBytes = 32

    /// The nonce, as lowercase hex.
    public var nonce: String
    /// The last second the challenge may be answered.
    public var notAfter: Date

    /// A challenge for `nonce` (hex of ``nonceBytes`` random bytes) answerable until `notAfter`.
    public init(nonce: String, notAfter: Date) {
        self.nonce = nonce
        self.notAfter = notAfter.roundedDownToSeconds
    }

    /// A challenge from the caller's random bytes (``nonceBytes`` of them).
    public init(random: [UInt8], notAfter: Date) {
        self.init(nonce: ConsoleSecret(random: random).text, notAfter: notAfter)
    }

    /// A challenge answerable until `notAfter`, whose nonce (still 64 hex digits) is the end in seconds (8 bytes),
    /// 8 of the caller's random bytes, and the first 16 bytes of HMAC-SHA256 of those under `key` (the server's
    /// secret: 32 random bytes).
    public static func issue(random: [UInt8], notAfter: Date, key: [UInt8]) -> ConsoleLogin {
        let end = UInt64(max(0, notAfter.timeIntervalSince1970.rounded(.down)))
        let head = (0..<8).map { UInt8(truncatingIfNeeded: end >> (56 - 8 * $0)) } + random.prefix(8)
        let mac = Array(HMAC<SHA256>.authenticationCode(for: head, using: SymmetricKey(data: key))).prefix(16)
        return ConsoleLogin(nonce: ConsoleSecret(random: head + mac).text, notAfter: Date(timeIntervalSince1970: TimeInterval(end)))
    }

    /// The challenge `nonce` stands for, when `key` issued it (its MAC checks out); nil for any other text.
    public static func issued(nonce: String, key: [UInt8]) -> ConsoleLogin? {
        guard isNonce(nonce) else { return nil }
        let bytes = stride(from: 0, to: 64, by: 2).map { index -> UInt8 in
            let start = nonce.utf8.index(nonce.utf8.startIndex, offsetBy: index)
            return UInt8(String(nonce.utf8[start..<nonce.utf8.index(start, offsetBy: 2)])!, radix: 16)!
        }
        let head = Array(bytes.prefix(16)), mac = Array(bytes.suffix(16))
        let expected = Array(HMAC<SHA256>.authenticationCode(for: head, using: SymmetricKey(data: key))).prefix(16)
        guard ConsoleSecret.matches(ConsoleSecret(random: Array(expected)).text, ConsoleSecret(random: mac).text) else { return nil }
        let end = head.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return ConsoleLogin(nonce: nonce, notAfter: Date(timeIntervalSince1970: TimeInterval(end)))
    }

    /// Whether `text` has the form of a nonce (what a login form may send back).
    public static func isNonce(_ text: String) -> Bool {
        ConsoleSecret.isWellFormed(text)
    }

    /// The exact text the approver signs.
    public var text: String {
        "\(Self.header) nonce=\(nonce) not-after=\(ApprovalStatement.utc(notAfter))"
    }

    /// The one line that signs the challenge saved in FILE with the key KEY.
    public static func signCommand(key: String = "~/.ssh/id_ed25519", file: String = "challenge.txt") -> String {
        "ssh-keygen -Y sign -n \(namespace) -f \(key) \(file)"
    }

    /// Why a login was refused; each says what to do.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// The challenge's time ran out.
        case expired(Date)
        /// The pasted text is not an SSH signature.
        case malformed(String)
        /// Signed for another namespace (an approval signature, for one).
        case wrongNamespace(found: String, fingerprint: String)
        /// The signature does not cover this challenge.
        case badSignature(fingerprint: String)
        /// No approver of any host has this key.
        case unknownKey(fingerprint: String)
        /// The key is listed under several principals and none was chosen (or not the chosen one).
        case principal(fingerprint: String, listed: [String], chosen: String?)

        /// The signing key's fingerprint, when the signature could be read.
        public var fingerprint: String? {
            switch self {
            case .expired, .malformed: nil
            case .wrongNamespace(_, let key), .badSignature(let key), .unknownKey(let key), .principal(let key, _, _): key
            }
        }

        /// A short name of the reason, for the audit log.
        public var reason: String {
            switch self {
            case .expired: "expired"
            case .malformed: "malformed"
            case .wrongNamespace: "wrong-namespace"
            case .badSignature: "bad-signature"
            case .unknownKey: "unknown-key"
            case .principal: "principal"
            }
        }

        public var description: String {
            switch self {
            case .expired(let end):
                "signature: the challenge expired at \(ApprovalStatement.utc(end)); sign the new challenge shown on this page"
            case .malformed(let why):
                "signature: \(why); paste the whole file ssh-keygen wrote (challenge.txt.sig), BEGIN and END lines included"
            case .wrongNamespace(let found, _):
                "signature: it was made for namespace '\(found)'; sign the challenge with -n \(ConsoleLogin.namespace)"
            case .badSignature:
                "signature: it does not cover this challenge; sign exactly the text shown (a new challenge is shown)"
            case .unknownKey(let key):
                "signature: key \(key) is not an approver key of any host (mcp_approvers in the inventory); sign with your approver key"
            case .principal(let key, let listed, let chosen):
                chosen.map { "principal: '\($0)' is not listed for key \(key) (mcp_approvers lists it as \(listed.joined(separator: ", ")))" }
                    ?? "principal: key \(key) is listed as \(listed.joined(separator: ", ")); choose one in the principal field"
            }
        }
    }

    /// The approver whose key signed this challenge for the console namespace, or why not: the signature
    /// must cover ``text`` (with or without a final newline), be made before ``notAfter`` is past, and be by
    /// a key `approvers` list. When the key is listed under several principals, `principal` chooses one.
    public func verify(signature armored: String, approvers: [Approver], principal chosen: String?, now: Date) throws(Refusal) -> Approver {
        guard now <= notAfter else { throw .expired(notAfter) }
        let signature: SSHSignature
        do {
            signature = try SSHSignature.parse(armored: armored)
        } catch {
            throw .malformed(error.description)
        }
        let key = signature.publicKey.fingerprint
        guard signature.namespace == Self.namespace else { throw .wrongNamespace(found: signature.namespace, fingerprint: key) }
        let signed = [text, text + "\n"].contains { message in
            (try? signature.verify(message: Array(message.utf8), namespace: Self.namespace)) != nil
        }
        guard signed else { throw .badSignature(fingerprint: key) }
        let listed = approvers.filter { $0.key.blob == signature.publicKey.blob }
        let principals = listed.map(\.principal).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        guard let first = listed.first else { throw .unknownKey(fingerprint: key) }
        if let chosen, !chosen.isEmpty {
            guard let match = listed.first(where: { $0.principal == chosen }) else {
                throw .principal(fingerprint: key, listed: principals, chosen: chosen)
            }
            return match
        }
        guard principals.count == 1 else { throw .principal(fingerprint: key, listed: principals, chosen: nil) }
        return first
    }
}

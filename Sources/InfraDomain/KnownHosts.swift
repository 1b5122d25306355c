import Crypto
import Foundation

/// The pinned host keys: a known_hosts file of ours, in OpenSSH's format.
///
/// Supported: plain and comma-separated host patterns, `[host]:port`, `*`/`?` wildcards, `!` negation,
/// hashed entries (`|1|salt|hash`) and the `@revoked` marker (honoured: a revoked key is refused).
/// Refused when the file is read: RSA keys, `@cert-authority` lines, unknown algorithms and malformed lines.
public struct KnownHosts: Sendable, Equatable {
    /// One pinned (or revoked) key and the hosts it applies to.
    public struct Entry: Sendable, Equatable {
        public var isRevoked: Bool
        public var patterns: [HostPattern]
        public var key: SSHPublicKey
        public var line: Int

        /// Whether this entry applies to a host key name such as `web1` or `[10.0.0.5]:2222`.
        public func matches(_ hostKeyName: String) -> Bool {
            var positive = false
            for pattern in patterns {
                switch pattern.match(hostKeyName) {
                case .negatedMatch: return false
                case .match: positive = true
                case .noMatch: break
                }
            }
            return positive
        }
    }

    /// One host pattern of a known_hosts line.
    public enum HostPattern: Sendable, Equatable {
        case glob(String, negated: Bool)
        case hashed(salt: [UInt8], hash: [UInt8])

        enum Outcome { case match, negatedMatch, noMatch }

        func match(_ name: String) -> Outcome {
            switch self {
            case .glob(let pattern, let negated):
                guard Glob.matches(pattern.lowercased(), name.lowercased()) else { return .noMatch }
                return negated ? .negatedMatch : .match
            case .hashed(let salt, let hash):
                let code = HMAC<Insecure.SHA1>.authenticationCode(for: Array(name.utf8), using: SymmetricKey(data: salt))
                return Array(code) == hash ? .match : .noMatch
            }
        }
    }

    public var entries: [Entry]

    /// Creates a set of pinned keys from entries.
    public init(entries: [Entry]) { self.entries = entries }

    /// The name a host's keys are filed under: `host` on port 22, `[host]:port` otherwise (as OpenSSH).
    public static func hostKeyName(address: String, port: Int) -> String {
        port == 22 ? address : "[\(address)]:\(port)"
    }

    /// The entries that apply to a host key name, in file order.
    public func entries(for hostKeyName: String) -> [Entry] {
        entries.filter { $0.matches(hostKeyName) }
    }

    /// Parses the text of a known_hosts file. `source` names the file in errors.
    public static func parse(_ text: String, source: String) throws(ConfigurationError) -> KnownHosts {
        var entries: [Entry] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7f }) {
                throw ConfigurationError(.malformedLine, file: source, line: lineNumber, field: "known_hosts line",
                                         problem: "the line contains control characters",
                                         fix: "remove the line and pin the key again with ssh-keyscan")
            }
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            var revoked = false
            if let first = fields.first, first.hasPrefix("@") {
                switch first {
                case "@revoked": revoked = true
                case "@cert-authority":
                    throw ConfigurationError(.unsupported, file: source, line: lineNumber, field: "@cert-authority",
                                             problem: "host certificate authorities are not supported",
                                             fix: "pin each host's own ed25519 or ECDSA key instead")
                default:
                    throw ConfigurationError(.malformedLine, file: source, line: lineNumber, field: first,
                                             problem: "unknown marker",
                                             fix: "use no marker, or @revoked")
                }
                fields.removeFirst()
            }
            guard fields.count >= 3 else {
                throw ConfigurationError(.malformedLine, file: source, line: lineNumber, field: "known_hosts line",
                                         problem: "expected 'HOSTS TYPE BASE64 [COMMENT]'",
                                         fix: "pin the key again: ssh-keyscan -p PORT -t ed25519 HOST >> \(source)")
            }
            let patterns = try parsePatterns(fields[0], source: source, line: lineNumber)
            let key: SSHPublicKey
            do {
                key = try SSHPublicKey.parse(type: fields[1], base64: fields[2])
            } catch {
                switch error {
                case .rsa:
                    throw ConfigurationError(.rsaKey, file: source, line: lineNumber, field: fields[0],
                                             problem: SSHKeyType.rsaExplanation,
                                             fix: "pin the host's ed25519 key instead: ssh-keyscan -t ed25519 HOST")
                case .unsupportedType(let name):
                    throw ConfigurationError(.unsupported, file: source, line: lineNumber, field: fields[0],
                                             problem: "host key algorithm \(name) is not supported",
                                             fix: "pin an ssh-ed25519 or ecdsa-sha2-nistp256/384/521 key")
                case .malformed(let why):
                    throw ConfigurationError(.malformedLine, file: source, line: lineNumber, field: fields[0],
                                             problem: why,
                                             fix: "pin the key again: ssh-keyscan -p PORT -t ed25519 HOST")
                }
            }
            entries.append(Entry(isRevoked: revoked, patterns: patterns, key: key, line: lineNumber))
        }
        return KnownHosts(entries: entries)
    }

    private static func parsePatterns(_ field: String, source: String, line: Int) throws(ConfigurationError) -> [HostPattern] {
        if field.hasPrefix("|1|") {
            let parts = field.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 4, let salt = Data(base64Encoded: String(parts[2])),
                  let hash = Data(base64Encoded: String(parts[3])), salt.count == 20, hash.count == 20 else {
                throw ConfigurationError(.malformedLine, file: source, line: line, field: field,
                                         problem: "malformed hashed host name",
                                         fix: "pin the key again with ssh-keyscan (add -H to hash it)")
            }
            return [.hashed(salt: [UInt8](salt), hash: [UInt8](hash))]
        }
        return field.split(separator: ",").map { part in
            part.hasPrefix("!") ? .glob(String(part.dropFirst()), negated: true) : .glob(String(part), negated: false)
        }
    }
}

/// OpenSSH-style wildcard matching: `*` any run, `?` one character.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

import Crypto
import Foundation

/// The bearer tokens of HTTP MCP clients, as the tokens file keeps them (LINUX_MCP_HTTP_TOKENS): each has a
/// name, which is the client's identity (the proposer of what it proposes, the actor of its audit rows), and
/// only the SHA-256 of its secret is kept. Pure: the caller reads and writes the file and draws the random bytes.
///
/// File format, one token per line: `NAME sha256:HEX CREATED [scope=metrics] [revoked=TIME]`, times ISO 8601
/// UTC; no `scope=` means `mcp` (the files written before scopes read as they did). `#` comments and blank
/// lines are kept out.
public struct ClientTokens: Sendable, Equatable {
    /// One token as kept.
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// SHA-256 of the secret, 64 lowercase hex digits.
        public var hash: String
        public var created: String
        /// What the token opens.
        public var scope: Scope = .mcp
        /// When it was revoked, or nil while it is valid.
        public var revoked: String?
    }

    /// What a token opens; each endpoint accepts the tokens of its own scope only.
    public enum Scope: String, Sendable, Equatable, CaseIterable {
        /// `/mcp`: an MCP client, whose name is the proposer of what it proposes.
        case mcp
        /// `/metrics`: a Prometheus scraper, which reads counters and nothing else.
        case metrics
    }

    /// Why a file or a request was refused; each names what to do.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        /// Creates a problem that says what failed and what to do.
        public init(description: String) { self.description = description }
    }

    /// What a presented token is.
    public enum Verdict: Sendable, Equatable {
        /// A valid token, with its name and scope.
        case client(String, Scope)
        /// No token matches.
        case unknown
        /// The token matches one that was revoked.
        case revoked(String)
    }

    /// Every token, in the file's order.
    public private(set) var entries: [Entry]

    /// The form of a token's name: it becomes an actor name in the audit log and a proposer in the store.
    public static let namePattern = "[a-z0-9][a-z0-9._-]{0,62}"
    /// What a token looks like: the prefix, then 43 base64url characters (32 random bytes).
    public static let prefix = "mlit_"

    /// No token.
    public init() { entries = [] }

    /// Reads the file's text; `source` names it in errors.
    public static func parse(_ text: String, source: String) throws(Problem) -> ClientTokens {
        var tokens = ClientTokens()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var fields = line.split(separator: " ").map(String.init)
            // Optional fields, in this order after the first three: scope=, then revoked=.
            let revoked = fields.count > 3 && fields[fields.count - 1].hasPrefix("revoked=") ? String(fields.removeLast().dropFirst(8)) : nil
            let scopeField = fields.count > 3 && fields[3].hasPrefix("scope=") ? String(fields.remove(at: 3).dropFirst(6)) : nil
            let scope: Scope? = if let scopeField { Scope(rawValue: scopeField) } else { .mcp }
            guard fields.count == 3, isValidName(fields[0]), fields[1].wholeMatch(of: /sha256:[0-9a-f]{64}/) != nil,
                  AuditChain.date(fields[2]) != nil, revoked.map({ AuditChain.date($0) != nil }) ?? true, let scope else {
                throw Problem(description: "\(source) line \(index + 1): not `NAME sha256:HEX CREATED [scope=SCOPE] [revoked=TIME]` "
                                           + "(SCOPE: \(Scope.allCases.map(\.rawValue).joined(separator: " or "))); "
                                           + "manage the file with `mcp-linux-infra tokens` rather than by hand")
            }
            guard !tokens.entries.contains(where: { $0.name == fields[0] }) else {
                throw Problem(description: "\(source) line \(index + 1): the name \(fields[0]) is there twice; each client has one name")
            }
            tokens.entries.append(Entry(name: fields[0], hash: String(fields[1].dropFirst(7)), created: fields[2], scope: scope, revoked: revoked))
        }
        return tokens
    }

    /// The file's text.
    public var text: String {
        "# mcp-linux-infra HTTP client tokens: NAME sha256:HASH CREATED [scope=SCOPE] [revoked=TIME] (managed by `mcp-linux-infra tokens`)\n"
            + entries.map {
                "\($0.name) sha256:\($0.hash) \($0.created)" + ($0.scope == .mcp ? "" : " scope=\($0.scope.rawValue)")
                    + ($0.revoked.map { " revoked=\($0)" } ?? "") + "\n"
            }.joined()
    }

    /// Whether `name` has the allowed form.
    public static func isValidName(_ name: String) -> Bool {
        name.wholeMatch(of: try! Regex("^(\(namePattern))$")) != nil
    }

    /// Adds a token named `name` for `scope` whose secret comes from `random` (32 bytes); returns the token to
    /// hand out once (it is not kept).
    public mutating func add(name: String, scope: Scope = .mcp, random: [UInt8], at date: Date) throws(Problem) -> String {
        guard Self.isValidName(name) else {
            throw Problem(description: "'\(TerminalText.escaped(name))' is not a token name: use 1 to 63 of a-z 0-9 . _ - , starting with a letter or digit")
        }
        guard !entries.contains(where: { $0.name == name }) else {
            throw Problem(description: "a token named \(name) exists already (names are never reused: pick another, e.g. \(name)-2)")
        }
        guard random.count == 32 else { throw Problem(description: "a token needs 32 random bytes") }
        let token = Self.prefix + Data(random).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        entries.append(Entry(name: name, hash: Self.hash(token), created: AuditChain.timestamp(date), scope: scope))
        return token
    }

    /// Revokes the token named `name`.
    public mutating func revoke(name: String, at date: Date) throws(Problem) {
        guard let index = entries.firstIndex(where: { $0.name == name }) else {
            throw Problem(description: "no token named \(TerminalText.escaped(name)); `mcp-linux-infra tokens list` shows them")
        }
        guard entries[index].revoked == nil else { throw Problem(description: "the token \(name) is already revoked") }
        entries[index].revoked = AuditChain.timestamp(date)
    }

    /// Which client `presented` belongs to, with the token's scope (the endpoint checks it is its own). Every
    /// entry is compared, in constant time each, whatever matches.
    public func authenticate(_ presented: String) -> Verdict {
        let digest = Array(Self.hash(presented).utf8)
        var found: Entry?
        for entry in entries {
            let expected = Array(entry.hash.utf8)
            var difference: UInt8 = expected.count == digest.count ? 0 : 1
            for (a, b) in zip(expected, digest) { difference |= a ^ b }
            if difference == 0 { found = entry }
        }
        guard let found else { return .unknown }
        return found.revoked == nil ? .client(found.name, found.scope) : .revoked(found.name)
    }

    /// SHA-256 of a token, hex.
    static func hash(_ token: String) -> String {
        Hex.lowercase(SHA256.hash(data: Array(token.utf8)))
    }
}

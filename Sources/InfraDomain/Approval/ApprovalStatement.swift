import Foundation

/// What an approver signs: one proposal, bound to the host's pinned key, the catalogue that will run it,
/// a time window and the audit head at signing. The canonical text is what the signature covers, what
/// `actions show` prints, and what the target's root side checks line by line against the request.
///
/// Canonical form (UTF-8, LF line ends, fields in this order, one `param:` line per parameter sorted by name):
/// ```
/// mcp-linux-infra approval statement v1
/// id: 3f2a9c1e-…
/// host: web1
/// host-key: SHA256:…          (the fingerprint pinned for the host in known_hosts)
/// action: restart_service
/// param: unit=nginx.service
/// catalogue: sha256:…         (SHA-256 of the catalogue file)
/// digest: sha256:…            (ApprovalDigest of action, host, parameters, catalogue)
/// principal: alice@example.org
/// not-before: 2026-11-29T17:00:00Z
/// not-after: 2026-11-29T17:15:00Z
/// audit-head: 42 sha256:…     (sequence and hash of the newest audit row when the statement was made)
/// ```
/// Every value is checked against an allowlist of characters (no spaces, no control characters), so no
/// value can imitate another field. ``parse(_:)`` accepts only text that renders back to itself.
public struct ApprovalStatement: Sendable, Equatable {
    /// The first line; a later format gets a new version.
    public static let header = "mcp-linux-infra approval statement v1"
    /// The SSHSIG namespace approvals are signed for (`ssh-keygen -Y sign -n`).
    public static let namespace = "approval@mcp-linux-infra"

    /// A point in the audit chain: sequence number and row hash.
    public struct AuditHead: Sendable, Equatable {
        public var sequence: Int64
        public var hash: String
        /// Creates a head.
        public init(sequence: Int64, hash: String) {
            self.sequence = sequence
            self.hash = hash
        }
    }

    public var proposalID: String
    public var host: String
    public var hostKeyFingerprint: String
    public var action: String
    public var parameters: [String: String]
    public var catalogueVersion: String
    public var digest: String
    public var principal: String
    public var notBefore: Date
    public var notAfter: Date
    public var auditHead: AuditHead

    /// Why a statement cannot be made or read.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Creates a statement; ``text()`` checks every field.
    public init(proposalID: String, host: String, hostKeyFingerprint: String, action: String, parameters: [String: String],
                catalogueVersion: String, digest: String, principal: String, notBefore: Date, notAfter: Date, auditHead: AuditHead) {
        self.proposalID = proposalID
        self.host = host
        self.hostKeyFingerprint = hostKeyFingerprint
        self.action = action
        self.parameters = parameters
        self.catalogueVersion = catalogueVersion
        self.digest = digest
        self.principal = principal
        self.notBefore = notBefore.roundedDownToSeconds
        self.notAfter = notAfter.roundedDownToSeconds
        self.auditHead = auditHead
    }

    /// The allowed form of each field.
    static let forms: [String: String] = [
        "id": "[0-9a-f-]{4,64}",
        "host": "[A-Za-z0-9_.-]{1,253}",
        "host-key": "SHA256:[A-Za-z0-9+/]{43}",
        "action": "[a-z][a-z0-9_]{0,63}",
        "param-name": "[a-z][a-z0-9_]{0,63}",
        "param-value": "[A-Za-z0-9_.@:+/-]{1,256}",
        "catalogue": "sha256:[0-9a-f]{64}",
        "digest": "sha256:[0-9a-f]{64}",
        "principal": Approver.principalForm,
        "audit-hash": "[0-9a-f]{64}|sha256:[0-9a-f]{64}",
    ]

    static func check(_ value: String, _ field: String) throws(Problem) {
        guard value.wholeMatch(of: try! Regex(forms[field]!)) != nil else {
            throw Problem(description: "statement field \(field): '\(value.prefix(80))' is not of the form \(forms[field]!)")
        }
    }

    /// The canonical text, or the first field that is not of its allowed form.
    public func text() throws(Problem) -> String {
        try Self.check(proposalID, "id")
        try Self.check(host, "host")
        try Self.check(hostKeyFingerprint, "host-key")
        try Self.check(action, "action")
        try Self.check(catalogueVersion, "catalogue")
        try Self.check(digest, "digest")
        try Self.check(principal, "principal")
        try Self.check(auditHead.hash, "audit-hash")
        guard auditHead.sequence >= 0, notBefore < notAfter else {
            throw Problem(description: "statement: the time window is empty or the audit sequence is negative")
        }
        var lines = [Self.header, "id: \(proposalID)", "host: \(host)", "host-key: \(hostKeyFingerprint)", "action: \(action)"]
        for name in parameters.keys.sorted() {
            try Self.check(name, "param-name")
            try Self.check(parameters[name]!, "param-value")
            lines.append("param: \(name)=\(parameters[name]!)")
        }
        lines += ["catalogue: \(catalogueVersion)", "digest: \(digest)", "principal: \(principal)",
                  "not-before: \(Self.utc(notBefore))", "not-after: \(Self.utc(notAfter))",
                  "audit-head: \(auditHead.sequence) \(auditHead.hash)"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads a canonical text back; anything that does not render back to exactly itself is refused.
    public static func parse(_ text: String) throws(Problem) -> ApprovalStatement {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.last == "" else { throw Problem(description: "statement: the text must end with a newline") }
        lines.removeLast()
        guard lines.first == header else { throw Problem(description: "statement: the first line must be '\(header)'") }
        var index = 1
        func take(_ key: String) throws(Problem) -> String {
            guard index < lines.count, lines[index].hasPrefix(key + ": ") else {
                throw Problem(description: "statement: line \(index + 1) must be '\(key): …'")
            }
            defer { index += 1 }
            return String(lines[index].dropFirst(key.count + 2))
        }
        let id = try take("id"), host = try take("host"), hostKey = try take("host-key"), action = try take("action")
        var parameters: [String: String] = [:]
        while index < lines.count, lines[index].hasPrefix("param: ") {
            let pair = try take("param")
            guard let equals = pair.firstIndex(of: "=") else { throw Problem(description: "statement: a param line needs NAME=VALUE") }
            parameters[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        let catalogue = try take("catalogue"), digest = try take("digest"), principal = try take("principal")
        guard let notBefore = date(try take("not-before")), let notAfter = date(try take("not-after")) else {
            throw Problem(description: "statement: times must be YYYY-MM-DDTHH:MM:SSZ")
        }
        let head = try take("audit-head").split(separator: " ")
        guard index == lines.count, head.count == 2, let sequence = Int64(head[0]) else {
            throw Problem(description: "statement: audit-head must be 'SEQUENCE HASH' and be the last line")
        }
        let statement = ApprovalStatement(proposalID: id, host: host, hostKeyFingerprint: hostKey, action: action, parameters: parameters,
                                           catalogueVersion: catalogue, digest: digest, principal: principal, notBefore: notBefore,
                                           notAfter: notAfter, auditHead: AuditHead(sequence: sequence, hash: String(head[1])))
        guard try statement.text() == text else { throw Problem(description: "statement: not in canonical form") }
        return statement
    }

    /// A time as statements write it: `YYYY-MM-DDTHH:MM:SSZ`.
    public static func utc(_ date: Date) -> String {
        UTCTime.text(date)
    }

    static func date(_ text: String) -> Date? {
        guard text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/) != nil else { return nil }
        return UTCTime.date(text)
    }
}

extension Date {
    /// The same instant without fractions of a second (statements carry whole seconds).
    var roundedDownToSeconds: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}

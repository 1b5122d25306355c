import Foundation

/// The rules by which a signed approval counts, checked by the server before it counts one (the target's
/// root side checks the same facts with OpenSSH before it runs anything). Pure: every fact comes in.
///
/// A signed approval counts when all of these hold:
/// 1. the statement is canonical text and the signature is a well-formed SSHSIG for our namespace;
/// 2. the statement names exactly this proposal: id, host, action, parameters and catalogue, and its digest
///    is the one recomputed from those (``ApprovalDigest``), never a digest copied from a database row;
/// 3. its host key is the one pinned for the host;
/// 4. its principal is an approver of that host, and the signature is by that approver's key;
/// 5. the window holds now (with `skew` for clocks), and is no longer than the host's maximum
///    (`mcp_approval_max_window`, which the host's root side enforces too); not checked as history;
/// 6. its audit head is a row of the chain (row 0, the genesis, only for history) with that hash (the caller looks it up).
///
/// Approvers are counted by key, not by name (``distinctKeys(_:)``): one key is one approver.
public enum ApprovalVerification {
    /// What the statement must match.
    public struct Expected: Sendable {
        public var proposalID: String
        public var host: InventoryHost
        /// The fingerprints pinned for the host (known_hosts): the statement must name one of them. Nil when the
        /// approval is checked as history (`audit verify`): the host's key may have been rotated since it was signed.
        public var hostKeyFingerprints: [String]?
        public var action: String
        public var parameters: [String: String]
        public var catalogueVersion: String

        /// Creates the expectation from the proposal's facts and the pinned host key.
        public init(proposalID: String, host: InventoryHost, hostKeyFingerprints: [String]?, action: String, parameters: [String: String],
                    catalogueVersion: String) {
            self.proposalID = proposalID
            self.host = host
            self.hostKeyFingerprints = hostKeyFingerprints
            self.action = action
            self.parameters = parameters
            self.catalogueVersion = catalogueVersion
        }

        /// The digest of this request, recomputed: the only digest a statement may carry.
        public var digest: String {
            ApprovalDigest.compute(action: action, host: host.name, parameters: parameters, catalogueVersion: catalogueVersion)
        }
    }

    /// Why a signed approval does not count; each names what to do.
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public var description: String
        /// The audit row the statement anchors when that row is gone (the log was cut), else nil.
        public var missingAuditRow: Int64?
        /// Creates a refusal that says what failed and what to do.
        public init(description: String, missingAuditRow: Int64? = nil) {
            self.description = description
            self.missingAuditRow = missingAuditRow
        }
    }

    /// The approver whose signature counts, or the first rule that fails.
    ///
    /// `auditHashAt` answers the hash of the audit row with a sequence number (nil when there is none). `now`
    /// nil checks the approval as history (`audit verify`): everything but its window.
    public static func verify(statement text: String, signature armored: String, expected: Expected, now: Date?,
                              skew: TimeInterval = 120,
                              auditHashAt: (Int64) -> String?) throws(Refusal) -> Approver {
        let statement: ApprovalStatement
        do {
            statement = try ApprovalStatement.parse(text)
        } catch {
            throw Refusal(description: "the statement is not canonical: \(error)")
        }
        let signature: SSHSignature
        do {
            signature = try SSHSignature.parse(armored: armored)
        } catch {
            throw Refusal(description: "the signature: \(error)")
        }
        func require(_ condition: Bool, _ what: String) throws(Refusal) {
            guard condition else { throw Refusal(description: what) }
        }
        try require(statement.proposalID == expected.proposalID, "the statement is for proposal \(statement.proposalID), not \(expected.proposalID)")
        try require(statement.host == expected.host.name, "the statement is for host \(statement.host), not \(expected.host.name)")
        if let pinned = expected.hostKeyFingerprints {
            try require(pinned.contains(statement.hostKeyFingerprint),
                        "the statement names host key \(statement.hostKeyFingerprint), but \(expected.host.name)'s pinned keys are "
                            + "\(pinned.isEmpty ? "none" : pinned.joined(separator: ", "))")
        }
        try require(statement.action == expected.action && statement.parameters == expected.parameters,
                    "the statement is for another action or other parameters")
        try require(statement.catalogueVersion == expected.catalogueVersion,
                    "the statement is for catalogue \(statement.catalogueVersion), not the one that will run it (\(expected.catalogueVersion))")
        try require(statement.digest == expected.digest,
                    "the statement's digest \(statement.digest) is not the one its action, host, parameters and catalogue recompute to "
                        + "(\(expected.digest))")
        guard let approver = expected.host.approvers.first(where: { $0.principal == statement.principal }) else {
            throw Refusal(description: "\(statement.principal) is not an approver of \(expected.host.name) (mcp_approvers)")
        }
        try require(signature.publicKey.blob == approver.key.blob,
                    "the signature is not by \(approver.principal)'s key (\(approver.key.fingerprint)) but by \(signature.publicKey.fingerprint)")
        do {
            try signature.verify(message: Array(text.utf8), namespace: ApprovalStatement.namespace)
        } catch {
            throw Refusal(description: "the signature does not verify: \(error)")
        }
        // As history (`now` nil), the window is not checked: when it was signed the host's maximum may have been
        // another, and what counted then was checked then, by the server and by the host's root side.
        if let now {
            try require(statement.notBefore.timeIntervalSince(now) <= skew, "the statement is not valid before \(ApprovalStatement.utc(statement.notBefore))")
            try require(now < statement.notAfter, "the statement expired at \(ApprovalStatement.utc(statement.notAfter))")
            let window = Int(statement.notAfter.timeIntervalSince(statement.notBefore))
            try require(window <= expected.host.approvalMaxWindow,
                        "the statement's window (\(window) s) is longer than \(expected.host.name)'s maximum (\(expected.host.approvalMaxWindow) s, "
                            + "mcp_approval_max_window)")
        }
        let sequence = statement.auditHead.sequence
        // Row 0 is no row: a statement to count now must name one in the chain (a proposal always has rows).
        // Only history (`audit verify`) reads row 0 as the genesis hash.
        try require(now == nil || sequence > 0, "the statement's audit head (row 0) is no row of the audit log: it anchors nothing")
        guard let hash = sequence == 0 ? AuditChain.genesis : auditHashAt(sequence) else {
            throw Refusal(description: "anchored row \(sequence) is missing: the statement's audit head is not in the audit log (rows were cut off the end)",
                          missingAuditRow: sequence)
        }
        let anchored = statement.auditHead.hash.hasPrefix("sha256:") ? String(statement.auditHead.hash.dropFirst(7)) : statement.auditHead.hash
        try require(hash == anchored, "the audit row \(statement.auditHead.sequence) does not have the hash the approver saw: the log was rewritten")
        return approver
    }

    /// The distinct keys among verified approvers: what M-of-N counts. Two principals with one key are one.
    public static func distinctKeys(_ approvers: [Approver]) -> Int {
        Set(approvers.map(\.key.blob)).count
    }
}

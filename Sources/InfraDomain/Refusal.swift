/// Why the application refused a request: the one refusal type of every use case (propose, approve, reject,
/// cancel, execute, review, audit). `code` is stable and machine-readable (adapters may map it, tests match
/// it); `message` is for a person and names what to do.
public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stable reason.
    public enum Code: String, Sendable, CaseIterable {
        /// The id names no proposal.
        case notFound = "not-found"
        /// The id prefix names several proposals.
        case ambiguousID = "ambiguous-id"
        /// An argument does not have the allowed form.
        case invalidArgument = "invalid-argument"
        /// The host is not in the inventory, or has no approvers, or no pinned key.
        case unknownHost = "unknown-host"
        /// The proposal's state does not allow this (already decided, expired, executed…).
        case wrongState = "wrong-state"
        /// A signed approval does not verify against the operator's files.
        case signatureInvalid = "signature-invalid"
        /// The digest given, stored or signed is not the one recomputed from the request.
        case digestMismatch = "digest-mismatch"
        /// The approval policy refuses the decision (self-approval, a second decision, a missing reason, one key twice).
        case policy = "policy"
        /// Fewer distinct approver keys verify than the action needs.
        case tooFewApprovers = "too-few-approvers"
        /// The request is not allowed by the catalogue, or the host runs another catalogue.
        case catalogue = "catalogue"
        /// Only the proposer may do this.
        case notProposer = "not-proposer"
        /// The approver's key or signature could not be used (agent, key file, ssh-keygen).
        case signing = "signing"
        /// The server is stopping.
        case stopping = "stopping"
    }

    public var code: Code
    public var message: String

    /// Creates a refusal.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

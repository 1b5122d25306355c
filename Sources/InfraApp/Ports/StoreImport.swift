import InfraDomain

/// An empty store that takes another store's content as it is (`store copy`; PostgreSQL today).
///
/// The contract: ``importVerbatim(proposals:audit:)`` writes every proposal with its decisions, transitions and
/// execution, and every audit row with its own sequence number, time and hashes (nothing is sealed anew), in ONE
/// transaction, and refuses (writing nothing) when the store already holds a proposal or an audit row, even one
/// written by another process a moment before.
public protocol StoreImport: Sendable {
    /// True when the store holds no proposal and no audit row.
    func isEmpty() throws -> Bool
    /// Writes `proposals` and `audit` exactly as given, in one transaction; refuses a store that is not empty.
    func importVerbatim(proposals: [ProposalRecord], audit: [AuditChain.Record]) throws
}

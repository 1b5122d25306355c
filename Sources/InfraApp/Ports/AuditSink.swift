import InfraDomain

/// Where the chained audit log is kept (SQLite today: InfraStoreSQLite).
///
/// The contract: appends are append-only (no row is ever changed or removed by any path of the product, and
/// the store refuses it where it can); a batch is appended in one transaction, in order, each row sealed to
/// the one before it (InfraDomain.AuditChain), with the commit's time when the row carries none; reads
/// return rows in sequence order, filtered as ``AuditFilter`` says.
public protocol AuditSink: Sendable {
    /// Appends `records` in one transaction, in order.
    func append(_ records: [AuditChain.Record]) async throws
    /// The rows matching `filter`, oldest first.
    func records(_ filter: AuditFilter) throws -> [AuditChain.Record]
    /// The last row, or nil when the log is empty.
    func head() throws -> AuditChain.Anchor?
}

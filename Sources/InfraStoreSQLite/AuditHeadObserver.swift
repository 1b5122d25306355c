import GRDB
import InfraDomain

/// Watches the writer connection for audit rows and, once a transaction that appended some has committed,
/// hands the new head (the last row it appended) to an ``AuditHeadWitness``: one head per commit, whichever
/// code appended the rows (a proposal's transaction, a group-committed batch of tool calls, a single append).
/// A rolled-back transaction witnesses nothing.
final class AuditHeadObserver: TransactionObserver {
    private let witness: AuditHeadWitness
    /// The highest audit row inserted by the transaction in progress (`seq` is the table's rowid).
    private var appended: Int64?

    init(witness: AuditHeadWitness) {
        self.witness = witness
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .insert(let table) = eventKind { return table == "audit" }
        return false
    }

    func databaseDidChange(with event: DatabaseEvent) {
        appended = max(appended ?? 0, event.rowID)
    }

    func databaseDidCommit(_ db: Database) {
        guard let seq = appended else { return }
        appended = nil
        // The committed row is immutable: reading it after the commit gives the hash that was committed.
        guard let hash = try? String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [seq]) else { return }
        witness.send(AuditChain.Anchor(seq: seq, hash: hash))
    }

    func databaseDidRollback(_ db: Database) {
        appended = nil
    }
}

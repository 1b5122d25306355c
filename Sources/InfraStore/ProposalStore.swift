import Foundation
import GRDB
import InfraDomain

/// Proposals, human decisions and executions in the state database. Each operation is one IMMEDIATE write
/// transaction that first expires what is due, then checks the lifecycle (InfraDomain.ActionLifecycle) and the
/// policy (InfraDomain.ApprovalPolicy), then writes the change, its transition and its audit rows together.
public struct ProposalStore: Sendable {
    let database: StateDatabase
    let policy: ApprovalPolicy
    /// The clock (tests move it).
    let now: @Sendable () -> Date

    /// A store over a state database.
    public init(database: StateDatabase, policy: ApprovalPolicy, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.policy = policy
        self.now = now
    }

    // MARK: Proposing (the AI, through the MCP server)

    /// Records a new proposal (PROPOSED) for a validated request.
    public func propose(_ request: ActionRequest, rationale: String, proposer: String, client: String,
                        catalogueVersion: String) throws -> ProposalRecord {
        let id = UUID().uuidString.lowercased()
        let date = now()
        let parameters = try Self.json(request.parameters)
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO proposal (id, action, host, parameters, rationale, impact, catalogue_version, digest, command, verification,
                  proposer, client, state, required_approvals, created_at, expires_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, request.action.name, request.host.name, parameters, rationale, request.action.impact.rawValue,
                                 catalogueVersion, request.digest(catalogueVersion: catalogueVersion), try Self.json(request.command),
                                 try Self.json(request.verification), proposer, client, ActionLifecycle.State.proposed.rawValue,
                                 policy.approvalsNeeded(for: request.action.impact, on: request.host), Self.ms(date),
                                 Self.ms(date + Self.seconds(policy.proposalLifetime)), Self.ms(date)])
            try record(db, id: id, from: nil, to: .proposed, actor: "mcp:\(proposer)", reason: rationale, date: date,
                       host: request.host.name, action: request.action.name)
        }
        return try proposal(id)
    }

    // MARK: Human decisions (the CLI)

    /// The statement `principal` would sign to approve a PROPOSED action now: bound to the host's pinned key,
    /// the proposal's catalogue, the digest recomputed from the stored request (a row whose stored digest does
    /// not recompute is refused, never signed), a window no longer than the host allows, and the audit head.
    public func statement(for idOrPrefix: String, principal: String, hostKeyFingerprint: String,
                          context: ApprovalContext) throws -> ApprovalStatement {
        let id = try resolve(idOrPrefix)
        return try database.read { db in
            let row = try Self.row(db, id)
            let state = try Self.state(row)
            guard state == .proposed else { throw StoreError.refused("cannot approve: the action is \(state.rawValue)") }
            let expected: ApprovalVerification.Expected
            do { expected = try Self.expectation(row, context: context) } catch { throw StoreError.refused("cannot approve: \(error)") }
            let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            let date = now()
            return ApprovalStatement(proposalID: id, host: expected.host.name, hostKeyFingerprint: hostKeyFingerprint, action: expected.action,
                                     parameters: expected.parameters, catalogueVersion: expected.catalogueVersion,
                                     digest: expected.digest, principal: principal, notBefore: date,
                                     notAfter: date + context.window(for: expected.host),
                                     auditHead: .init(sequence: head?["seq"] ?? 0, hash: head?["hash"] ?? AuditChain.genesis))
        }
    }

    /// What a statement for `row` must name, from the row's request and the operator's files; refuses a row
    /// whose stored digest is not the one its action, host, parameters and catalogue recompute to.
    static func expectation(_ row: Row, context: ApprovalContext) throws(ApprovalVerification.Refusal) -> ApprovalVerification.Expected {
        let parameters: [String: String]
        do {
            parameters = try decode(row["parameters"])
        } catch {
            throw ApprovalVerification.Refusal(description: "the stored parameters are unreadable")
        }
        let expected = try context.expected(proposalID: row["id"], host: row["host"], action: row["action"], parameters: parameters,
                                            catalogueVersion: row["catalogue_version"])
        do {
            _ = try ApprovalDigest.recompute(stored: row["digest"], action: expected.action, host: expected.host.name,
                                             parameters: expected.parameters, catalogueVersion: expected.catalogueVersion)
        } catch {
            throw ApprovalVerification.Refusal(description: error.description)
        }
        return expected
    }

    /// Records a signed approval. It counts only when ``ApprovalVerification`` accepts it against the
    /// operator's files (`context`: the host's approvers and pinned keys), never on the database's word; the
    /// principal comes from the verified signature, and `osAccount` (who ran the CLI) is recorded beside it.
    /// The proposal becomes APPROVED once enough distinct approver keys signed; the approval then lasts until
    /// the earliest counted statement's not-after.
    public func approve(_ idOrPrefix: String, signed: SignedApproval, osAccount: String, reason: String?,
                        context: ApprovalContext) throws -> ProposalRecord {
        let id = try resolve(idOrPrefix)
        try decide(id, "approve") { db, row, earlier, date in
            let digest: String = row["digest"]
            let approver: Approver
            do {
                approver = try Self.verify(signed, row: row, db: db, context: context, now: date)
            } catch {
                throw StoreError.refused("cannot approve: \(error)")
            }
            let impact = ActionCatalogue.Impact(rawValue: row["impact"]) ?? .high
            let count: Int
            do {
                guard osAccount != row["proposer"] as String else { throw ApprovalRefusal.selfApproval(osAccount) }
                count = try policy.checkApproval(proposer: row["proposer"], impact: impact, approver: approver.principal,
                                                 key: approver.key.fingerprint, reason: reason, earlier: earlier)
            } catch {
                throw StoreError.refused("cannot approve: \(String(describing: error))")
            }
            let statement = try ApprovalStatement.parse(signed.statement)
            try db.execute(sql: """
                INSERT INTO decision (proposal_id, approver, approves, reason, digest, at, os_account, statement, signature)
                VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, approver.principal, reason ?? "", digest, Self.ms(date), osAccount, signed.statement, signed.signature])
            let needed: Int = row["required_approvals"]
            try AuditLog.append(.init(actor: "key:\(approver.principal)", kind: "approval", host: row["host"], action: row["action"], proposalID: id,
                                      outcome: "approved",
                                      detail: ["digest": digest, "reason": reason ?? "", "approvals": "\(count) of \(needed)",
                                               "principal": approver.principal, "key": approver.key.fingerprint, "osAccount": osAccount,
                                               "notAfter": ApprovalStatement.utc(statement.notAfter),
                                               "auditHead": "\(statement.auditHead.sequence):\(statement.auditHead.hash)"]),
                                in: db, at: date)
            if count >= needed {
                let deadlines = try Self.signedDecisions(db, id).compactMap { try? ApprovalStatement.parse($0.statement).notAfter }
                let expires = deadlines.min() ?? statement.notAfter
                try db.execute(sql: "UPDATE proposal SET approved_at = ?, approval_expires_at = ? WHERE id = ?",
                               arguments: [Self.ms(date), Self.ms(expires), id])
                try transition(db, row: row, event: .approve, actor: "key:\(approver.principal)",
                               reason: "\(count) of \(needed) signed approvals", date: date)
            }
        }
        return try proposal(id)
    }

    /// The approver whose signed approval of `row` counts now, or why it does not.
    static func verify(_ signed: SignedApproval, row: Row, db: Database, context: ApprovalContext,
                       now: Date) throws(ApprovalVerification.Refusal) -> Approver {
        let expected = try expectation(row, context: context)
        let approver = try ApprovalVerification.verify(statement: signed.statement, signature: signed.signature, expected: expected, now: now,
                                                       skew: context.skew) { sequence in
            try? String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [sequence])
        }
        guard approver.principal != row["proposer"] as String else {
            throw ApprovalVerification.Refusal(description: "\(approver.principal) proposed this action and cannot approve it")
        }
        return approver
    }

    static func signedDecisions(_ db: Database, _ id: String) throws -> [SignedApproval] {
        try Row.fetchAll(db, sql: """
            SELECT statement, signature FROM decision WHERE proposal_id = ? AND approves = 1 AND statement IS NOT NULL AND signature IS NOT NULL
            ORDER BY at, approver
            """, arguments: [id]).map { SignedApproval(statement: $0["statement"], signature: $0["signature"]) }
    }

    /// Records a rejection (reason required); the proposal becomes REJECTED.
    public func reject(_ idOrPrefix: String, approver: String, reason: String?) throws -> ProposalRecord {
        let id = try resolve(idOrPrefix)
        try decide(id, "reject") { db, row, earlier, date in
            do {
                try policy.checkRejection(proposer: row["proposer"], approver: approver, reason: reason, earlier: earlier)
            } catch {
                throw StoreError.refused("cannot reject: \(String(describing: error))")
            }
            try db.execute(sql: "INSERT INTO decision (proposal_id, approver, approves, reason, digest, at, os_account) VALUES (?, ?, 0, ?, ?, ?, ?)",
                           arguments: [id, approver, reason ?? "", row["digest"] as String, Self.ms(date), approver])
            try transition(db, row: row, event: .reject, actor: "os:\(approver)", reason: reason ?? "", date: date)
        }
        return try proposal(id)
    }

    /// A human decision's transaction: expire what is due, require PROPOSED, and hand over the row and the
    /// decisions already recorded.
    func decide(_ id: String, _ verb: String,
                _ body: (Database, Row, [ApprovalPolicy.Decision], Date) throws -> Void) throws {
        try database.write { db in
            let date = now()
            try expireDue(db, date: date)
            let row = try Self.row(db, id)
            let state = try Self.state(row)
            guard state == .proposed else { throw StoreError.refused("cannot \(verb): the action is \(state.rawValue)") }
            let earlier = try Self.decisions(db, id).map {
                ApprovalPolicy.Decision(approver: $0.approver, approves: $0.approves,
                                        key: $0.signed.flatMap { try? SSHSignature.parse(armored: $0.signature).publicKey.fingerprint })
            }
            try body(db, row, earlier, date)
        }
    }

    // MARK: The proposer

    /// Withdraws a PROPOSED or APPROVED action; only its proposer may.
    public func cancel(_ idOrPrefix: String, by user: String, reason: String) throws -> ProposalRecord {
        let id = try resolve(idOrPrefix)
        try database.write { db in
            let date = now()
            try expireDue(db, date: date)
            let row = try Self.row(db, id)
            guard row["proposer"] as String == user else {
                throw StoreError.refused("only the proposer (\(row["proposer"] as String)) can cancel this action")
            }
            try transition(db, row: row, event: .cancel, actor: "mcp:\(user)", reason: reason, date: date)
        }
        return try proposal(id)
    }

    // MARK: Execution (exactly once)

    /// Claims the execution: APPROVED → EXECUTING in one write transaction, so of any number of concurrent
    /// callers (in any number of processes) exactly one wins. Refuses when the action is not approved, its
    /// approval expired, or `currentDigest` (recomputed from the request and today's catalogue) differs from
    /// the digest the approvers approved.
    ///
    /// Every stored approval is verified again (`context`, `required`: from the operator's files, not the
    /// database): a row written into the database without an approver's signature counts for nothing, and
    /// fewer than `required` distinct verified approver keys refuse (one key is one approver, whatever names
    /// it signs under). Returns the record, the signed approvals to send to the host, whose root side verifies
    /// them once more, and the audit head with the claim in it, which the host's ledger keeps as a witness.
    public func claimExecution(_ idOrPrefix: String, executor: String, currentDigest: String, owner: ExecutionOwner,
                               context: ApprovalContext, required: Int)
        throws -> (record: ProposalRecord, approvals: [SignedApproval], head: AuditChain.Anchor) {
        let id = try resolve(idOrPrefix)
        var approvals: [SignedApproval] = []
        var head = AuditChain.Anchor(seq: 0, hash: AuditChain.genesis)
        // A refusal is recorded in the audit log too, so the transaction commits and the refusal is thrown after.
        let refusal: String? = try database.write { db in
            let date = now()
            try expireDue(db, date: date)
            let row = try Self.row(db, id)
            let state = try Self.state(row)
            func refuse(_ reason: String) throws -> String {
                try AuditLog.append(.init(actor: executor, kind: "state", host: row["host"], action: row["action"], proposalID: id,
                                          outcome: "refused", detail: ["reason": reason, "state": state.rawValue]), in: db, at: date)
                return "cannot execute: " + reason
            }
            do {
                _ = try ActionLifecycle.next(state, on: .start)
            } catch {
                return try refuse(String(describing: error))
            }
            let digest: String = row["digest"]
            let approvedDigests = Set(try Self.decisions(db, id).filter(\.approves).map(\.digest))
            guard currentDigest == digest, approvedDigests == [digest] else {
                return try refuse("the action's digest changed since it was approved (approved \(digest), now \(currentDigest)); propose it again")
            }
            let approves = try Self.decisions(db, id).filter(\.approves)
            var counted: [Approver] = []
            for decision in approves {
                guard let signed = decision.signed else {
                    return try refuse("the approval recorded for \(decision.approver) carries no signature: the database was written "
                                      + "by something other than `actions approve`; nothing runs")
                }
                do {
                    let approver = try Self.verify(signed, row: row, db: db, context: context, now: date)
                    guard approver.principal == decision.approver else {
                        return try refuse("the approval recorded for \(decision.approver) is signed by \(approver.principal)")
                    }
                    if !counted.contains(where: { $0.key.blob == approver.key.blob }) { approvals.append(signed) }
                    counted.append(approver)
                } catch {
                    return try refuse("the approval recorded for \(decision.approver) does not count: \(error)")
                }
            }
            let keys = ApprovalVerification.distinctKeys(counted)
            guard keys >= required else {
                let shared = Dictionary(grouping: counted, by: \.key.fingerprint).filter { $0.value.count > 1 }
                    .map { "\($0.value.map(\.principal).joined(separator: " and ")) signed with the same key \($0.key)" }
                return try refuse("\(keys) distinct approver keys verified; \(required) are needed (one key is one approver"
                                  + (shared.isEmpty ? ")" : ": " + shared.joined(separator: "; ") + ")"))
            }
            try db.execute(sql: """
                INSERT INTO execution (proposal_id, executor, owner_host, owner_pid, owner_start, started_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [id, executor, owner.host, owner.pid, owner.start, Self.ms(date)])
            try transition(db, row: row, event: .start, actor: executor, reason: "execution claimed by pid \(owner.pid) on \(owner.host)", date: date)
            if let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") {
                head = AuditChain.Anchor(seq: last["seq"], hash: last["hash"])
            }
            return nil
        }
        if let refusal { throw StoreError.refused(refusal) }
        return (try proposal(id), approvals, head)
    }

    /// Stores the outcome: EXECUTING → COMPLETED or FAILED.
    public func finishExecution(_ id: String, outcome: ExecutionOutcome, executor: String) throws -> ProposalRecord {
        try database.write { db in
            let date = now()
            let row = try Self.row(db, id)
            try db.execute(sql: """
                UPDATE execution SET finished_at = ?, exit_code = ?, stdout = ?, stderr = ?, verification = ?, verified = ? WHERE proposal_id = ?
                """, arguments: [Self.ms(date), outcome.exitCode, String(outcome.stdout.prefix(65536)), String(outcome.stderr.prefix(65536)),
                                 outcome.verification, outcome.verified, id])
            try transition(db, row: row, event: outcome.succeeded ? .complete : .fail, actor: executor,
                           reason: "exit \(outcome.exitCode.map(String.init) ?? "none"), verified \(outcome.verified)", date: date,
                           detail: ["exit": outcome.exitCode.map(String.init) ?? "none", "verified": outcome.verified,
                                    "stdoutBytes": String(outcome.stdout.utf8.count), "stderrBytes": String(outcome.stderr.utf8.count)])
        }
        return try proposal(id)
    }

    /// Marks INTERRUPTED every EXECUTING action whose owning process is gone (a server killed mid-run).
    /// They are never re-run by themselves. Returns their ids.
    @discardableResult
    public func recoverInterrupted(actor: String) throws -> [String] {
        try database.write { db in
            let date = now()
            var interrupted: [String] = []
            let rows = try Row.fetchAll(db, sql: """
                SELECT p.*, e.owner_host, e.owner_pid, e.owner_start FROM proposal p JOIN execution e ON e.proposal_id = p.id
                WHERE p.state = 'EXECUTING'
                """)
            for row in rows {
                let owner = ExecutionOwner(host: row["owner_host"], pid: row["owner_pid"], start: row["owner_start"])
                guard !owner.isAlive else { continue }
                try db.execute(sql: "UPDATE execution SET finished_at = ?, verified = 'not-checked' WHERE proposal_id = ?",
                               arguments: [Self.ms(date), row["id"] as String])
                try transition(db, row: row, event: .interrupt, actor: actor,
                               reason: "the server running it (pid \(owner.pid) on \(owner.host)) stopped before recording a result; "
                                   + "check the host, then propose again if needed", date: date)
                interrupted.append(row["id"])
            }
            return interrupted
        }
    }

    /// Expires what is due now (also done at the start of every write).
    public func expireDue() throws {
        try database.write { db in try expireDue(db, date: now()) }
    }

    // MARK: Reading

    /// One proposal with its decisions, transitions and execution, by full id or a unique prefix (at least 4 characters).
    public func proposal(_ idOrPrefix: String) throws -> ProposalRecord {
        let id = try resolve(idOrPrefix)
        return try database.read { db in try Self.load(db, id) }
    }

    /// Proposals in the given states (all when empty), newest first.
    public func list(states: [ActionLifecycle.State] = []) throws -> [ProposalRecord] {
        try database.read { db in
            let filter = states.isEmpty ? "" : " WHERE state IN (\(states.map { _ in "?" }.joined(separator: ",")))"
            let ids = try String.fetchAll(db, sql: "SELECT id FROM proposal\(filter) ORDER BY created_at DESC, id",
                                          arguments: StatementArguments(states.map(\.rawValue)))
            return try ids.map { try Self.load(db, $0) }
        }
    }

    /// Every stored signed approval, oldest first, with its proposal and host: `audit verify` checks each
    /// signature and the audit head it anchors.
    public func signedApprovals() throws -> [(proposalID: String, host: String, principal: String, signed: SignedApproval)] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT d.proposal_id, p.host, d.approver, d.statement, d.signature FROM decision d JOIN proposal p ON p.id = d.proposal_id
                WHERE d.approves = 1 AND d.statement IS NOT NULL AND d.signature IS NOT NULL ORDER BY d.at, d.proposal_id, d.approver
                """).map { ($0["proposal_id"], $0["host"], $0["approver"], SignedApproval(statement: $0["statement"], signature: $0["signature"])) }
        }
    }

    /// Approvals stored without a signature (written by something other than `actions approve`, or by a
    /// release before signed approvals): none of them counts.
    public func unsignedApprovals() throws -> [(proposalID: String, principal: String)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT proposal_id, approver FROM decision WHERE approves = 1 AND (statement IS NULL OR signature IS NULL) ORDER BY at")
                .map { ($0["proposal_id"], $0["approver"]) }
        }
    }

    /// Whether a proposal with this exact id is stored.
    public func exists(_ id: String) throws -> Bool {
        try database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM proposal WHERE id = ?", arguments: [id]) ?? false }
    }

    // MARK: Internals

    func resolve(_ idOrPrefix: String) throws -> String {
        let text = idOrPrefix.lowercased()
        guard text.count >= 4, text.count <= 36, text.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw StoreError.refused("argument 'id': '\(idOrPrefix)' is not an action id (36 characters, or a unique prefix of at least 4)")
        }
        let matches = try database.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM proposal WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 5", arguments: [text + "%"])
        }
        guard let first = matches.first else { throw StoreError.notFound(idOrPrefix) }
        guard matches.count == 1 else { throw StoreError.ambiguous(idOrPrefix, matches) }
        return first
    }

    func expireDue(_ db: Database, date: Date) throws {
        let due = try Row.fetchAll(db, sql: """
            SELECT * FROM proposal WHERE (state = 'PROPOSED' AND expires_at <= ?) OR (state = 'APPROVED' AND approval_expires_at <= ?)
            """, arguments: [Self.ms(date), Self.ms(date)])
        for row in due {
            let pending = (row["state"] as String) == ActionLifecycle.State.proposed.rawValue
            try transition(db, row: row, event: .expire, actor: "system",
                           reason: pending ? "not approved in time" : "approved but not executed in time", date: date)
        }
    }

    func transition(_ db: Database, row: Row, event: ActionLifecycle.Event, actor: String, reason: String, date: Date,
                    detail: [String: String] = [:]) throws {
        let id: String = row["id"]
        let current = try Self.state(row)
        let next: ActionLifecycle.State
        do {
            next = try ActionLifecycle.next(current, on: event)
        } catch {
            throw StoreError.refused("cannot \(event.rawValue): \(String(describing: error))")
        }
        // Guarded by the state read in this same transaction: a concurrent writer cannot slip in between.
        try db.execute(sql: "UPDATE proposal SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
                       arguments: [next.rawValue, Self.ms(date), id, current.rawValue])
        guard db.changesCount == 1 else { throw StoreError.refused("the action changed state meanwhile; read it again") }
        try record(db, id: id, from: current, to: next, actor: actor, reason: reason, date: date, host: row["host"],
                   action: row["action"], detail: detail)
    }

    func record(_ db: Database, id: String, from: ActionLifecycle.State?, to: ActionLifecycle.State, actor: String, reason: String,
                date: Date, host: String, action: String, detail: [String: String] = [:]) throws {
        try db.execute(sql: "INSERT INTO transition (proposal_id, from_state, to_state, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [id, from?.rawValue, to.rawValue, actor, reason, Self.ms(date)])
        var fields = detail
        fields["from"] = from?.rawValue ?? "-"
        fields["reason"] = reason
        try AuditLog.append(.init(actor: actor, kind: "state", host: host, action: action, proposalID: id, outcome: to.rawValue,
                                  detail: fields), in: db, at: date)
    }

    static func row(_ db: Database, _ id: String) throws -> Row {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM proposal WHERE id = ?", arguments: [id]) else { throw StoreError.notFound(id) }
        return row
    }

    static func state(_ row: Row) throws -> ActionLifecycle.State {
        guard let state = ActionLifecycle.State(rawValue: row["state"]) else {
            throw StoreError.refused("the stored state '\(row["state"] as String)' is unknown")
        }
        return state
    }

    static func decisions(_ db: Database, _ id: String) throws -> [ProposalRecord.Decision] {
        try Row.fetchAll(db, sql: "SELECT * FROM decision WHERE proposal_id = ? ORDER BY at, approver", arguments: [id]).map {
            let statement: String? = $0["statement"], signature: String? = $0["signature"]
            return ProposalRecord.Decision(approver: $0["approver"], approves: $0["approves"], reason: $0["reason"], digest: $0["digest"],
                                           at: date($0["at"]), osAccount: $0["os_account"],
                                           signed: statement.flatMap { text in signature.map { SignedApproval(statement: text, signature: $0) } })
        }
    }

    static func load(_ db: Database, _ id: String) throws -> ProposalRecord {
        let row = try row(db, id)
        let transitions = try Row.fetchAll(db, sql: "SELECT * FROM transition WHERE proposal_id = ? ORDER BY id", arguments: [id]).map {
            ProposalRecord.Transition(from: ($0["from_state"] as String?).flatMap(ActionLifecycle.State.init(rawValue:)),
                                      to: ActionLifecycle.State(rawValue: $0["to_state"]) ?? .failed, actor: $0["actor"],
                                      reason: $0["reason"], at: date($0["at"]))
        }
        let execution = try Row.fetchOne(db, sql: "SELECT * FROM execution WHERE proposal_id = ?", arguments: [id]).map {
            ProposalRecord.Execution(executor: $0["executor"], ownerHost: $0["owner_host"], ownerPID: $0["owner_pid"],
                                     startedAt: date($0["started_at"]), finishedAt: ($0["finished_at"] as Int64?).map(date),
                                     exitCode: $0["exit_code"], stdout: $0["stdout"], stderr: $0["stderr"],
                                     verification: $0["verification"], verified: $0["verified"])
        }
        return ProposalRecord(
            id: id, action: row["action"], host: row["host"], parameters: try decode(row["parameters"]), rationale: row["rationale"],
            impact: row["impact"], catalogueVersion: row["catalogue_version"], digest: row["digest"], command: try decode(row["command"]),
            verification: try decode(row["verification"]), proposer: row["proposer"], client: row["client"], state: try state(row),
            requiredApprovals: row["required_approvals"], createdAt: date(row["created_at"]), expiresAt: date(row["expires_at"]),
            approvedAt: (row["approved_at"] as Int64?).map(date), approvalExpiresAt: (row["approval_expires_at"] as Int64?).map(date),
            decisions: try decisions(db, id), transitions: transitions, execution: execution)
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
    static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

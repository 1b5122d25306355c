import Foundation
import GRDB
import InfraDomain
@testable import InfraStore
import InfraTestSupport
import Testing

/// A state database in a fresh folder, a catalogue, a host, and a clock the test moves.
final class StoreFixture: @unchecked Sendable {
    let directory: String
    let path: String
    let catalogue: ActionCatalogue
    private(set) var host = InventoryHost(name: "t1", address: "127.0.0.1", port: 22, allowedServices: ["nginx.service"])
    /// The pinned host key the statements name.
    let hostKey = "SHA256:" + String(repeating: "H", count: 43)
    private let lock = NSLock()
    private var clock = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = ApprovalPolicy(requiredApprovals: [.low: 1, .medium: 1, .high: 2], proposalLifetime: .seconds(3600), approvalLifetime: .seconds(900))

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        path = directory + "/state/state.sqlite3"
        catalogue = try ActionCatalogue.parse("""
            restart_unbound\tLOW\t-\tsystemctl restart unbound.service\tsystemctl is-active --quiet unbound.service\tyes\tRestart unbound.
            reboot_system\tHIGH\t-\tsystemctl reboot\t-\tno\tReboot.
            """, source: "catalogue")
    }

    var now: Date { lock.withLock { clock } }
    func advance(_ seconds: TimeInterval) { lock.withLock { clock += seconds } }

    func store(_ database: StateDatabase? = nil) throws -> ProposalStore {
        ProposalStore(database: try database ?? StateDatabase(path: path), policy: policy, now: { [self] in now })
    }

    func request(_ action: String = "restart_unbound") throws -> ActionRequest {
        try ActionRequest.make(actionName: action, host: host, parameters: [:], catalogue: catalogue)
    }

    func propose(_ store: ProposalStore, _ action: String = "restart_unbound") throws -> ProposalRecord {
        try store.propose(try request(action), rationale: "unbound is stopped on t1", proposer: "svc", client: "test", catalogueVersion: catalogue.version)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A fixture whose host has two approvers, alice@example.org and bob@example.org, with real ed25519 keys
    /// (ssh-keygen); mallory has a key but is no approver.
    static func make() async throws -> StoreFixture {
        let fixture = try StoreFixture()
        try FileManager.default.createDirectory(atPath: fixture.directory + "/keys", withIntermediateDirectories: true)
        var approvers: [Approver] = []
        for name in ["alice", "bob", "mallory"] {
            let key = try await TestApprovals.makeKey(in: fixture.directory + "/keys", name: name)
            if name != "mallory" {
                let line = try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                approvers.append(Approver(principal: "\(name)@example.org", key: try SSHPublicKey.parseLine(line)))
            }
        }
        fixture.host.approvers = approvers
        return fixture
    }

    /// Changes the inventory host (as an operator, or the server's account, edits the inventory).
    func change(_ edit: (inout InventoryHost) -> Void) { edit(&host) }

    /// What the server knows from the operator's files: this host, its approvers and its pinned key.
    var context: ApprovalContext {
        ApprovalContext(hosts: [host], pinnedHostKeys: [host.name: [hostKey]], preferredWindow: 900)
    }

    /// `name` signs the statement for `id` (as `principal`, default theirs) with their key and records it.
    @discardableResult
    func approve(_ store: ProposalStore, _ id: String, as name: String, principal: String? = nil, reason: String? = nil,
                 osAccount: String? = nil) async throws -> ProposalRecord {
        let statement = try store.statement(for: id, principal: principal ?? "\(name)@example.org", hostKeyFingerprint: hostKey, context: context)
        let signed = try await TestApprovals.sign(statement, keyFile: directory + "/keys/" + name)
        return try store.approve(id, signed: signed, osAccount: osAccount ?? name, reason: reason, context: context)
    }

    /// Claims the execution as the server does, with the approvals needed from the operator's policy.
    @discardableResult
    func claim(_ store: ProposalStore, _ id: String, _ digest: String, owner: ExecutionOwner = .current, required: Int = 1) throws -> ProposalRecord {
        try store.claimExecution(id, executor: "mcp:svc", currentDigest: digest, owner: owner, context: context, required: required).record
    }
}

@Suite("State database: proposals, approvals, exactly-once execution, audit chain (real SQLite file)")
struct ProposalStoreTests {
    @Test("Propose, approve by another user, claim once, finish; every step recorded with who, when and why")
    func happyPath() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let store = try fixture.store()
        let proposed = try fixture.propose(store)
        #expect(proposed.state == .proposed && proposed.requiredApprovals == 1 && proposed.command == ["systemctl", "restart", "unbound.service"])
        #expect(proposed.digest == (try fixture.request()).digest(catalogueVersion: fixture.catalogue.version))
        #expect(throws: StoreError.refused("cannot execute: the action is not approved yet")) {
            try fixture.claim(store, proposed.id, proposed.digest, owner: .current)
        }
        // The proposer's OS account cannot approve, even with an approver's key; a key that is no approver's does not count.
        await #expect(throws: StoreError.self) { try await fixture.approve(store, proposed.id, as: "alice", osAccount: "svc") }
        await #expect(throws: StoreError.self) { try await fixture.approve(store, proposed.id, as: "mallory", principal: "alice@example.org") }
        let approved = try await fixture.approve(store, String(proposed.id.prefix(8)), as: "alice")
        #expect(approved.state == .approved && approved.approvalExpiresAt == fixture.now + 900)
        #expect(approved.decisions.first?.approver == "alice@example.org" && approved.decisions.first?.osAccount == "alice")
        #expect(approved.decisions.first?.signed?.statement.contains("principal: alice@example.org\n") == true)
        let claimed = try fixture.claim(store, proposed.id, proposed.digest, owner: .current)
        #expect(claimed.state == .executing)
        #expect(throws: StoreError.refused("cannot execute: the action is already executing")) {
            try fixture.claim(store, proposed.id, proposed.digest, owner: .current)
        }
        let done = try store.finishExecution(proposed.id, outcome: .init(exitCode: 0, stdout: "ok", stderr: "", verification: "active",
                                                                       verified: "yes", succeeded: true), executor: "mcp:svc")
        #expect(done.state == .completed && done.execution?.exitCode == 0 && done.execution?.verified == "yes")
        #expect(throws: StoreError.refused("cannot execute: the action was already executed (COMPLETED)")) {
            try fixture.claim(store, proposed.id, proposed.digest, owner: .current)
        }
        #expect(done.transitions.map(\.to) == [.proposed, .approved, .executing, .completed])
        #expect(done.transitions.map(\.actor) == ["mcp:svc", "key:alice@example.org", "mcp:svc", "mcp:svc"])
        let log = AuditLog(database: try StateDatabase(path: fixture.path))
        #expect(try log.verify().firstBreak == nil)
        let outcomes = try log.records().map(\.outcome)
        #expect(outcomes.filter { $0 == "refused" }.count == 3, "\(outcomes)")
    }

    @Test("Expiry: pending after its lifetime, approved after its own; both refuse execution")
    func expiry() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let store = try fixture.store()
        let pending = try fixture.propose(store)
        fixture.advance(3601)
        #expect(try store.proposal(pending.id).state == .proposed)
        try store.expireDue()
        #expect(try store.proposal(pending.id).state == .expired)
        await #expect(throws: StoreError.self) { try await fixture.approve(store, pending.id, as: "alice") }
        let approved = try fixture.propose(store)
        try await fixture.approve(store, approved.id, as: "alice", reason: nil)
        fixture.advance(901)
        #expect(throws: StoreError.refused("cannot execute: the action is EXPIRED and can no longer run")) {
            try fixture.claim(store, approved.id, approved.digest, owner: .current)
        }
        #expect(try store.proposal(approved.id).transitions.last?.reason == "approved but not executed in time")
    }

    @Test("Rejection needs a reason and ends the proposal; cancel is the proposer's alone")
    func rejectAndCancel() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let store = try fixture.store()
        let one = try fixture.propose(store)
        #expect(throws: StoreError.self) { try store.reject(one.id, approver: "bob", reason: " ") }
        #expect(try store.reject(one.id, approver: "bob", reason: "not during business hours").state == .rejected)
        #expect(throws: StoreError.self) { try fixture.claim(store, one.id, one.digest, owner: .current) }
        let two = try fixture.propose(store)
        #expect(throws: StoreError.refused("only the proposer (svc) can cancel this action")) { try store.cancel(two.id, by: "eve", reason: "x") }
        #expect(try store.cancel(two.id, by: "svc", reason: "fixed otherwise").state == .cancelled)
    }

    @Test("M-of-N: a HIGH action stays PROPOSED after one approval, the same approver twice does not count, a second person approves it")
    func twoApprovers() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let store = try fixture.store()
        let reboot = try fixture.propose(store, "reboot_system")
        #expect(reboot.requiredApprovals == 2)
        #expect(try await fixture.approve(store, reboot.id, as: "alice", reason: "kernel update").state == .proposed)
        // The same principal again (another statement, another OS account) does not count twice.
        await #expect(throws: StoreError.self) { try await fixture.approve(store, reboot.id, as: "alice", reason: "again", osAccount: "root") }
        #expect(try store.proposal(reboot.id).approvals == 1)
        let approved = try await fixture.approve(store, reboot.id, as: "bob", reason: "agreed")
        #expect(approved.state == .approved && approved.approvals == 2)
    }

    @Test("A changed digest (catalogue changed since approval) refuses execution and is audited")
    func changedDigest() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let store = try fixture.store()
        let proposal = try fixture.propose(store)
        try await fixture.approve(store, proposal.id, as: "alice", reason: nil)
        let newer = (try fixture.request()).digest(catalogueVersion: "sha256:another-catalogue")
        #expect(throws: StoreError.self) { try fixture.claim(store, proposal.id, newer, owner: .current) }
        #expect(try store.proposal(proposal.id).state == .approved)
        let refusals = try AuditLog(database: try StateDatabase(path: fixture.path)).records().filter { $0.outcome == "refused" }
        #expect(refusals.count == 1 && refusals[0].detail.contains("digest changed"))
    }

    @Test("One key is one approver: the same key under a second principal is refused at approval, and counts once at execution")
    func oneKeyOneApprover() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        // An inventory the parser would refuse (the server's account may have edited it): alice's key listed twice.
        fixture.change { $0.approvers.append(Approver(principal: "alice-admin@example.org", key: $0.approvers[0].key)) }
        let store = try fixture.store()
        let reboot = try fixture.propose(store, "reboot_system")
        try await fixture.approve(store, reboot.id, as: "alice", reason: "kernel update")
        await #expect(throws: StoreError.refused("cannot approve: alice-admin@example.org signs with the key \(fixture.host.approvers[0].key.fingerprint), "
                                                 + "which already approved this action as alice@example.org: one key is one approver, however many principals list it")) {
            try await fixture.approve(store, reboot.id, as: "alice", principal: "alice-admin@example.org", reason: "again", osAccount: "root")
        }
        #expect(try store.proposal(reboot.id).state == .proposed)
        // The second signature written straight into the database (and the state forced) still counts for nothing at execution.
        let statement = try store.statement(for: reboot.id, principal: "alice-admin@example.org", hostKeyFingerprint: fixture.hostKey,
                                            context: fixture.context)
        let signed = try await TestApprovals.sign(statement, keyFile: fixture.directory + "/keys/alice")
        let queue = try DatabaseQueue(path: fixture.path)
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO decision (proposal_id, approver, approves, reason, digest, at, os_account, statement, signature)
                VALUES (?, 'alice-admin@example.org', 1, 'forged', ?, 0, 'root', ?, ?)
                """, arguments: [reboot.id, reboot.digest, signed.statement, signed.signature])
            try db.execute(sql: "UPDATE proposal SET state = 'APPROVED', approval_expires_at = ? WHERE id = ?",
                           arguments: [Int64((fixture.now.timeIntervalSince1970 + 600) * 1000), reboot.id])
        }
        #expect(throws: StoreError.self) { try fixture.claim(store, reboot.id, reboot.digest, required: 2) }
        let refusal = try AuditLog(database: try StateDatabase(path: fixture.path)).records().last { $0.outcome == "refused" }
        #expect(refusal?.detail.contains("1 distinct approver keys verified; 2 are needed") == true
                && refusal?.detail.contains("signed with the same key") == true, "\(refusal?.detail ?? "")")
    }

    @Test("A row changed after it was proposed (action swapped, digest kept) is never signed, and never run once signed")
    func rewrittenRow() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let store = try fixture.store()
        let queue = try DatabaseQueue(path: fixture.path)
        let first = try fixture.propose(store)
        try await queue.write { try $0.execute(sql: "UPDATE proposal SET action = 'reboot_system' WHERE id = ?", arguments: [first.id]) }
        #expect(throws: StoreError.self) {
            try store.statement(for: first.id, principal: "alice@example.org", hostKeyFingerprint: fixture.hostKey, context: fixture.context)
        }
        do {
            _ = try store.statement(for: first.id, principal: "alice@example.org", hostKeyFingerprint: fixture.hostKey, context: fixture.context)
        } catch {
            #expect("\(error)".contains("the stored digest \(first.digest) is not the one the stored action"), "\(error)")
        }
        // Approved first, then swapped: the claim recomputes and refuses.
        let second = try fixture.propose(store)
        try await fixture.approve(store, second.id, as: "alice")
        try await queue.write { try $0.execute(sql: "UPDATE proposal SET action = 'reboot_system' WHERE id = ?", arguments: [second.id]) }
        #expect(throws: StoreError.self) { try fixture.claim(store, second.id, second.digest) }
        #expect(try store.proposal(second.id).state == .approved)
    }

    @Test("The window comes from the host's maximum (inventory), never longer; a longer statement does not count")
    func windowMaximum() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        fixture.change { $0.approvalMaxWindow = 600 }
        let store = try fixture.store()
        let proposal = try fixture.propose(store)
        let statement = try store.statement(for: proposal.id, principal: "alice@example.org", hostKeyFingerprint: fixture.hostKey,
                                            context: fixture.context)
        #expect(statement.notAfter.timeIntervalSince(statement.notBefore) == 600)
        var long = statement
        long.notAfter = long.notBefore + 900
        let signed = try await TestApprovals.sign(long, keyFile: fixture.directory + "/keys/alice")
        #expect(throws: StoreError.refused("cannot approve: the statement's window (900 s) is longer than t1's maximum (600 s, mcp_approval_max_window)")) {
            try store.approve(proposal.id, signed: signed, osAccount: "alice", reason: nil, context: fixture.context)
        }
        let approved = try store.approve(proposal.id, signed: try await TestApprovals.sign(statement, keyFile: fixture.directory + "/keys/alice"),
                                         osAccount: "alice", reason: nil, context: fixture.context)
        #expect(approved.approvalExpiresAt == statement.notAfter)
    }

    @Test("20 concurrent claims over two independent connections pools: exactly one wins")
    func exactlyOnce() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let stores = [try fixture.store(), try fixture.store(try StateDatabase(path: fixture.path))]
        let proposal = try fixture.propose(stores[0])
        try await fixture.approve(stores[0], proposal.id, as: "alice", reason: nil)
        let wins = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask {
                    (try? fixture.claim(stores[index % 2], proposal.id, proposal.digest)) != nil
                }
            }
            var count = 0
            for await won in group where won { count += 1 }
            return count
        }
        #expect(wins == 1)
        #expect(try stores[1].proposal(proposal.id).transitions.filter { $0.to == .executing }.count == 1)
    }

    @Test("An execution whose owner process is gone becomes INTERRUPTED; one whose owner lives stays EXECUTING")
    func interrupted() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let store = try fixture.store()
        let dead = try fixture.propose(store), alive = try fixture.propose(store)
        for proposal in [dead, alive] { try await fixture.approve(store, proposal.id, as: "alice", reason: nil) }
        let gone = try ChildProcess.start("/bin/true", [])
        _ = await gone.wait()
        let ghost = ExecutionOwner(host: ProcessInfo.processInfo.hostName, pid: Int(gone.pid), start: "1")
        _ = try fixture.claim(store, dead.id, dead.digest, owner: ghost)
        _ = try fixture.claim(store, alive.id, alive.digest, owner: .current)
        #expect(try store.recoverInterrupted(actor: "system") == [dead.id])
        #expect(try store.proposal(dead.id).state == .interrupted && store.proposal(alive.id).state == .executing)
        #expect(throws: StoreError.self) { try fixture.claim(store, dead.id, dead.digest, owner: .current) }
    }

    @Test("A database from a newer release is refused before anything changes")
    func newerSchema() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        _ = try fixture.propose(try fixture.store())
        let queue = try DatabaseQueue(path: fixture.path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')") }
        try queue.close()
        func schema() throws -> [String] {
            let queue = try DatabaseQueue(path: fixture.path)
            defer { try? queue.close() }
            return try queue.read { db in
                try String.fetchAll(db, sql: "SELECT type || ' ' || name FROM sqlite_master ORDER BY name")
                    + String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            }
        }
        let before = try schema()
        #expect {
            _ = try StateDatabase(path: fixture.path)
        } throws: { error in
            (error as? StoreError)?.description.contains("written by a newer mcp-linux-infra (unknown migrations: v9-from-the-future)") == true
        }
        #expect(try schema() == before)
    }

    @Test("The audit log refuses UPDATE and DELETE; changing any byte of any row (triggers dropped) makes verify name that row")
    func tamper() async throws {
        let fixture = try await StoreFixture.make()
        defer { fixture.remove() }
        let store = try fixture.store()
        let proposal = try fixture.propose(store)
        try await fixture.approve(store, proposal.id, as: "alice", reason: nil)
        try tamperChecks(fixture)
    }

    func tamperChecks(_ fixture: StoreFixture) throws {
        let log = AuditLog(database: try StateDatabase(path: fixture.path))
        try log.append(.init(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok", detail: ["tool": "get_system_info"]))
        let rows = try log.records()
        let intact = try log.verify().firstBreak
        #expect(rows.count == 4 && intact == nil)
        let queue = try DatabaseQueue(path: fixture.path)
        defer { try? queue.close() }
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "UPDATE audit SET outcome = 'x' WHERE seq = 1") } }
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "DELETE FROM audit WHERE seq = 1") } }
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_append_only_update")
            try db.execute(sql: "DROP TRIGGER audit_append_only_delete")
        }
        for row in rows {
            for column in ["at", "actor", "kind", "host", "action", "proposal_id", "outcome", "detail", "previous_hash", "hash"] {
                let original = try queue.read { try String.fetchOne($0, sql: "SELECT \(column) FROM audit WHERE seq = ?", arguments: [row.seq]) } ?? ""
                var bytes = Array(original.utf8)
                if bytes.isEmpty { bytes = [0x78] } else { bytes[bytes.count / 2] ^= 0x01 }
                try queue.write { try $0.execute(sql: "UPDATE audit SET \(column) = ? WHERE seq = ?", arguments: [String(decoding: bytes, as: UTF8.self), row.seq]) }
                #expect((try log.verify()).firstBreak?.seq == row.seq, "changing \(column) of row \(row.seq)")
                try queue.write { try $0.execute(sql: "UPDATE audit SET \(column) = ? WHERE seq = ?", arguments: [original, row.seq]) }
            }
        }
        #expect((try log.verify()).firstBreak == nil)
        try queue.write { try $0.execute(sql: "DELETE FROM audit WHERE seq = 2") }
        #expect((try log.verify()).firstBreak?.seq == 3)
    }

    @Test("An anchor saved elsewhere catches what the chain alone cannot: rows cut off the end, and history rewritten and re-sealed")
    func anchors() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let log = AuditLog(database: try StateDatabase(path: fixture.path))
        for index in 0..<10 { try log.append(.init(actor: "mcp:svc", kind: "tool", host: "t1", outcome: "ok", detail: ["n": String(index)])) }
        let (_, head, intact) = try log.verify()
        let saved = try #require(head)
        #expect(intact == nil && saved.seq == 10)
        #expect(try log.verify(anchors: [saved]).firstBreak == nil)
        #expect(AuditChain.Anchor(saved.description) == saved && AuditChain.Anchor("10:sha256:" + saved.hash) == saved)
        #expect(AuditChain.Anchor("10:xyz") == nil && AuditChain.Anchor("0:" + saved.hash) == nil)
        let queue = try DatabaseQueue(path: fixture.path)
        defer { try? queue.close() }
        // The probe of the issue: drop the delete trigger, cut the last 5 rows, put the trigger back.
        let trigger = try queue.read { try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE name = 'audit_append_only_delete'") } ?? ""
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_append_only_delete")
            try db.execute(sql: "DELETE FROM audit WHERE seq > 5")
            try db.execute(sql: trigger)
        }
        #expect(try log.verify().firstBreak == nil)   // the chain alone cannot tell
        let cut = try log.verify(anchors: [saved]).firstBreak
        #expect(cut?.seq == 10 && cut?.problem.contains("anchored row 10 is missing: the log ends at row 5") == true, "\(String(describing: cut))")
        // Rewritten history: row 3 changed and every later row re-sealed, so the chain is intact again.
        let older = try #require(try log.records().first { $0.seq == 5 })
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_append_only_update")
            var previous = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = 2") ?? ""
            for var record in try log.records() where record.seq >= 3 {
                if record.seq == 3 { record.detail = "{\"n\":\"rewritten\"}" }
                let sealed = AuditChain.seal(record, previousHash: previous)
                try db.execute(sql: "UPDATE audit SET detail = ?, previous_hash = ?, hash = ? WHERE seq = ?",
                               arguments: [sealed.detail, sealed.previousHash, sealed.hash, sealed.seq])
                previous = sealed.hash
            }
        }
        #expect(try log.verify().firstBreak == nil)
        let rewritten = try log.verify(anchors: [AuditChain.Anchor(seq: 5, hash: older.hash)]).firstBreak
        #expect(rewritten?.seq == 5 && rewritten?.problem.contains("history before it was rewritten") == true, "\(String(describing: rewritten))")
    }
}

import InfraDomain
import Testing

@Suite("Approved actions: lifecycle, digest, policy, requests, audit chain")
struct ApprovalRulesTests {
    typealias State = ActionLifecycle.State

    @Test("Exactly the documented transitions are legal; every other pair is an error")
    func lifecycle() throws {
        let legal = Set(ActionLifecycle.transitions.map { "\($0.0.rawValue)-\($0.1.rawValue)-\($0.2.rawValue)" })
        #expect(legal == [
            "PROPOSED-approve-APPROVED", "PROPOSED-reject-REJECTED", "PROPOSED-expire-EXPIRED", "PROPOSED-cancel-CANCELLED",
            "APPROVED-start-EXECUTING", "APPROVED-expire-EXPIRED", "APPROVED-cancel-CANCELLED",
            "EXECUTING-complete-COMPLETED", "EXECUTING-fail-FAILED", "EXECUTING-interrupt-INTERRUPTED",
        ])
        for state in State.allCases where state.isFinal {
            for event in ActionLifecycle.Event.allCases {
                #expect(throws: IllegalTransition.self) { try ActionLifecycle.next(state, on: event) }
            }
        }
        #expect(throws: IllegalTransition(state: .proposed, event: .start)) { try ActionLifecycle.next(.proposed, on: .start) }
        #expect(IllegalTransition(state: .proposed, event: .start).description == "the action is not approved yet")
        #expect(IllegalTransition(state: .executing, event: .start).description == "the action is already executing")
        #expect(IllegalTransition(state: .completed, event: .start).description.contains("already executed"))
        #expect(IllegalTransition(state: .rejected, event: .start).description.contains("REJECTED"))
    }

    @Test("The digest covers action, host, each parameter and the catalogue version, and cannot be confused by separators")
    func digest() {
        let base = ApprovalDigest.compute(action: "restart_service", host: "web1", parameters: ["unit": "nginx.service"], catalogueVersion: "sha256:aa")
        #expect(base.hasPrefix("sha256:") && base.count == 71)
        #expect(base == ApprovalDigest.compute(action: "restart_service", host: "web1", parameters: ["unit": "nginx.service"], catalogueVersion: "sha256:aa"))
        let variants = [
            ApprovalDigest.compute(action: "restart_servicf", host: "web1", parameters: ["unit": "nginx.service"], catalogueVersion: "sha256:aa"),
            ApprovalDigest.compute(action: "restart_service", host: "web2", parameters: ["unit": "nginx.service"], catalogueVersion: "sha256:aa"),
            ApprovalDigest.compute(action: "restart_service", host: "web1", parameters: ["unit": "nginx.servicf"], catalogueVersion: "sha256:aa"),
            ApprovalDigest.compute(action: "restart_service", host: "web1", parameters: ["unit": "nginx.service"], catalogueVersion: "sha256:ab"),
            ApprovalDigest.compute(action: "restart_service", host: "web1", parameters: [:], catalogueVersion: "sha256:aa"),
        ]
        #expect(Set(variants + [base]).count == 6)
        // Moving text between fields changes the digest (length prefixes).
        #expect(ApprovalDigest.compute(action: "a", host: "bc", parameters: [:], catalogueVersion: "v")
                != ApprovalDigest.compute(action: "ab", host: "c", parameters: [:], catalogueVersion: "v"))
    }

    @Test("Policy: no self-approval, each approver once, each key once, reasons for reject and HIGH approvals")
    func policy() throws {
        let policy = ApprovalPolicy(requiredApprovals: [.low: 1, .medium: 1, .high: 2], proposalLifetime: .seconds(3600), approvalLifetime: .seconds(900))
        #expect(policy.approvalsNeeded(for: .high) == 2 && policy.approvalsNeeded(for: .low) == 1)
        #expect(throws: ApprovalRefusal.selfApproval("svc")) {
            try policy.checkApproval(proposer: "svc", impact: .low, approver: "svc", key: "SHA256:k1", reason: nil, earlier: [])
        }
        #expect(try policy.checkApproval(proposer: "svc", impact: .low, approver: "alice", key: "SHA256:k1", reason: nil, earlier: []) == 1)
        #expect(throws: ApprovalRefusal.reasonRequired("approve a HIGH-impact action")) {
            try policy.checkApproval(proposer: "svc", impact: .high, approver: "alice", key: "SHA256:k1", reason: "  ", earlier: [])
        }
        let first = [ApprovalPolicy.Decision(approver: "alice", approves: true, key: "SHA256:k1")]
        #expect(throws: ApprovalRefusal.alreadyDecided("alice")) {
            try policy.checkApproval(proposer: "svc", impact: .high, approver: "alice", key: "SHA256:k2", reason: "again", earlier: first)
        }
        #expect(try policy.checkApproval(proposer: "svc", impact: .high, approver: "bob", key: "SHA256:k2", reason: "ok", earlier: first) == 2)
        // One key is one approver: alice's key under another principal does not count again.
        #expect(throws: ApprovalRefusal.sameKey("alice-admin", "alice", "SHA256:k1")) {
            try policy.checkApproval(proposer: "svc", impact: .high, approver: "alice-admin", key: "SHA256:k1", reason: "ok", earlier: first)
        }
        #expect(throws: ApprovalRefusal.reasonRequired("reject")) {
            try policy.checkRejection(proposer: "svc", approver: "bob", reason: nil, earlier: [])
        }
    }

    @Test("Requests: parameters checked against the catalogue and the host's allowed services; the exact command and probe")
    func requests() throws {
        let catalogue = try ActionCatalogue.parse("""
            restart_unbound\tLOW\t-\tsystemctl restart unbound.service\tsystemctl is-active --quiet unbound.service\tyes\tRestart unbound.
            restart_service\tMEDIUM\tunit:allowed-service:^[A-Za-z0-9][A-Za-z0-9_.@-]{0,120}[.]service$\tsystemctl restart -- {unit}\tsystemctl is-active --quiet -- {unit}\tyes\tRestart one.
            flush_dns_cache\tLOW\t-\tunbound-control flush_zone .\tunbound-control status\tyes\tFlush.
            """, source: "c")
        let host = InventoryHost(name: "web1", address: "10.0.0.5", port: 22, groups: ["all"], allowedServices: ["nginx.service"])
        let restart = try ActionRequest.make(actionName: "restart_service", host: host, parameters: ["unit": "nginx.service"], catalogue: catalogue)
        #expect(restart.command == ["systemctl", "restart", "--", "nginx.service"])
        #expect(restart.execRequest(correlation: "abc-1") == "restart_service unit=nginx.service id=abc-1")
        #expect(restart.readerProbe == "unit-active unit=nginx.service")
        #expect(try ActionRequest.make(actionName: "flush_dns_cache", host: host, parameters: [:], catalogue: catalogue).readerProbe == nil)
        #expect(throws: ActionRequestError.serviceNotAllowed("ssh.service", host: "web1", allowed: ["nginx.service"])) {
            try ActionRequest.make(actionName: "restart_service", host: host, parameters: ["unit": "ssh.service"], catalogue: catalogue)
        }
        #expect(throws: ActionRequestError.badParameter("unit", pattern: "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,120}[.]service$")) {
            try ActionRequest.make(actionName: "restart_service", host: host, parameters: ["unit": "--now x.service"], catalogue: catalogue)
        }
        #expect(throws: ActionRequestError.unknownParameter("unit", action: "restart_unbound", expected: [])) {
            try ActionRequest.make(actionName: "restart_unbound", host: host, parameters: ["unit": "a.service"], catalogue: catalogue)
        }
        #expect(throws: ActionRequestError.self) { try ActionRequest.make(actionName: "rm_rf", host: host, parameters: [:], catalogue: catalogue) }
        #expect(throws: ActionRequestError.missingParameter("unit", action: "restart_service")) {
            try ActionRequest.make(actionName: "restart_service", host: host, parameters: [:], catalogue: catalogue)
        }
    }

    @Test("Audit chain: intact verifies; changing any field of any row names that row")
    func auditChain() {
        var records: [AuditChain.Record] = []
        var previous = AuditChain.genesis
        for seq in 1...5 {
            let record = AuditChain.seal(.init(seq: Int64(seq), at: "2026-11-21T10:00:0\(seq).000Z", actor: "mcp:root", kind: "tool",
                                               host: "t1", action: "", proposalID: "", outcome: "ok", detail: "{\"n\":\"\(seq)\"}"),
                                         previousHash: previous)
            records.append(record)
            previous = record.hash
        }
        #expect(AuditChain.verify(records) == nil)
        let mutations: [(inout AuditChain.Record) -> Void] = [
            { $0.at += "x" }, { $0.actor = "os:eve" }, { $0.kind = "ssh" }, { $0.host = "t2" }, { $0.action = "x" },
            { $0.proposalID = "p" }, { $0.outcome = "error" }, { $0.detail = "{}" }, { $0.hash = String($0.hash.reversed()) },
            { $0.previousHash = AuditChain.genesis.replacingOccurrences(of: "0", with: "1") },
        ]
        for index in records.indices {
            for mutate in mutations {
                var tampered = records
                mutate(&tampered[index])
                #expect(AuditChain.verify(tampered)?.seq == tampered[index].seq)
            }
        }
        #expect(AuditChain.verify(records.enumerated().filter { $0.offset != 2 }.map(\.element))?.seq == 4)
    }
}

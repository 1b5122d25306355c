import Foundation
import InfraConsole
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Review console: queue, action page, signed approvals, rejection")
struct ConsoleApprovalTests {
    /// Signs the statement the action page shows, as `key`, and pastes it back with the page's hidden fields.
    static func approve(_ id: String, in browser: ConsoleBrowser, by key: TestApproverKey, reason: String = "checked the logs",
                        namespace: String = ApprovalStatement.namespace) async throws -> ConsoleBrowser.Page {
        try await browser.post("/actions/\(id)/approve", try await browser.approvalForm(id, by: key, namespace: namespace) + [("reason", reason)])
    }

    @Test("The queue shows host, action, impact, approvals of required, time left and the AI's rationale, escaped and marked")
    func queue() async throws {
        let fixture = try ConsoleFixture()
        let proposal = try await fixture.propose(rationale: "<script>alert(1)</script> nginx answers 502 & \"quotes\"")
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            let queue = try await browser.get("/")
            #expect(queue.text.contains("href=\"/actions/\(proposal.id)\"") && queue.text.contains("restart_service") && queue.text.contains("web1"))
            #expect(queue.text.contains("impact medium\">MEDIUM") && queue.text.contains("0 of 1") && queue.text.contains("1 h 0 min left"))
            #expect(queue.text.contains("&lt;script&gt;alert(1)&lt;/script&gt; nginx answers 502 &amp; &quot;quotes&quot;"))
            #expect(!queue.text.contains("<script>alert(1)"))
            #expect(queue.text.contains("title=\"Written by the AI; not checked by anyone\">AI</span>"))
            let action = try await browser.get("/actions/\(proposal.id)")
            #expect(action.element("rationale") == "<script>alert(1)</script> nginx answers 502 & \"quotes\"")
            #expect(!action.text.contains("<script>alert(1)") && action.text.contains("Rationale, written by the AI"))
        }
    }

    @Test("The action page shows what actions show prints: catalogue command and verification, host key, digest, statement and its ssh-keygen line")
    func actionPage() async throws {
        let fixture = try ConsoleFixture()
        let proposal = try await fixture.propose()
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            let page = try await browser.get("/actions/\(proposal.id.prefix(8))")
            #expect(page.status == .ok && page.element("state") == "PROPOSED")
            #expect(page.text.contains("systemctl restart -- nginx.service") && page.text.contains("systemctl is-active --quiet -- nginx.service"))
            #expect(page.text.contains("root on web1, through pra-runner → pra-exec → sudo pra-run restart_service"))
            #expect(page.text.contains(ConsoleFixture.hostKey) && page.element("digest") == proposal.digest)
            let statement = try #require(page.element("statement"))
            #expect(statement == (try fixture.review.statement(proposal.id, principal: "alice@example.org")))
            #expect(page.element("sign-statement") == "ssh-keygen -Y sign -n approval@mcp-linux-infra -f ~/.ssh/id_ed25519 statement.txt")
            #expect(page.text.contains("data-copy=\"statement\"") && page.text.contains("/static/console.js"))
            #expect(try await browser.get("/actions/..%2Fetc").status == .notFound)
            #expect(try await browser.get("/actions/ffffffff").status == .notFound)
        }
    }

    @Test("A pasted signature approves: the approvals count moves, APPROVED at the required count, the console account recorded")
    func approves() async throws {
        let fixture = try ConsoleFixture()
        let reboot = try await fixture.propose("reboot_system")
        #expect(reboot.requiredApprovals == 2)
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            let first = try await Self.approve(reboot.id, in: browser, by: fixture.alice, reason: "kernel update")
            #expect(first.status == .ok && first.element("notice")?.contains("1 of 2 approvals; the action is now PROPOSED") == true)
            #expect(first.element("approvals") == "1 of 2" && first.element("cannot-sign")?.contains("already decided") == true)
            let stored = try #require(try fixture.store.load(reboot.id))
            #expect(stored.approvals == 1 && stored.decisions.first?.osAccount == "console:alice@example.org")

            _ = try await browser.post("/logout", [("csrf", try await browser.csrf())])
            try await browser.logIn(as: fixture.bob)
            let second = try await Self.approve(reboot.id, in: browser, by: fixture.bob, reason: "agreed")
            #expect(second.element("state") == "APPROVED" && second.element("approvals") == "2 of 2")
            #expect(try fixture.store.load(reboot.id)?.state == .approved)
            let approval = try #require(fixture.rows(kind: "approval").last)
            #expect(approval.details["osAccount"] == "console:bob@example.org" && approval.details["principal"] == "bob@example.org")
        }
    }

    @Test("A bad signature, a login signature, another's statement: a clear error and nothing recorded")
    func badSignatures() async throws {
        let fixture = try ConsoleFixture()
        let proposal = try await fixture.propose()
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            let rows = fixture.store.chain.count
            let wrongKey = try await Self.approve(proposal.id, in: browser, by: fixture.bob)
            #expect(wrongKey.status == .badRequest && wrongKey.element("error")?.hasPrefix("Nothing was recorded. cannot approve:") == true)
            let loginNamespace = try await Self.approve(proposal.id, in: browser, by: fixture.alice, namespace: ConsoleLogin.namespace)
            #expect(loginNamespace.status == .badRequest && loginNamespace.text.contains("console-login@mcp-linux-infra"))

            let garbled = try await browser.approvalForm(proposal.id, by: fixture.alice).map {
                $0.0 == "signature" ? ($0.0, "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----") : $0
            }
            let garbage = try await browser.post("/actions/\(proposal.id)/approve", garbled)
            #expect(garbage.status == .badRequest && garbage.element("error")?.contains("Nothing was recorded") == true)
            // A statement made for bob, signed by bob, pasted in alice's session.
            let bobs = try fixture.review.statement(proposal.id, principal: "bob@example.org")
            let foreign = try await browser.post("/actions/\(proposal.id)/approve", [
                ("csrf", try await browser.csrf()), ("statement", Data(bobs.utf8).base64EncodedString()),
                ("digest", proposal.digest), ("signature", fixture.bob.signature(over: bobs)),
            ])
            #expect(foreign.status == .badRequest && foreign.element("error")?.contains("it is for bob@example.org") == true)
            let decisions = try fixture.store.load(proposal.id)?.decisions
            #expect(fixture.store.chain.count == rows && decisions?.isEmpty == true)
        }
    }

    @Test("Forms without this session's CSRF token are refused with 403, and nothing is recorded")
    func csrf() async throws {
        let fixture = try ConsoleFixture()
        let proposal = try await fixture.propose()
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            let form = try await browser.approvalForm(proposal.id, by: fixture.alice).filter { $0.0 != "csrf" }
            let rows = fixture.store.chain.count
            for token in [nil, "", String(repeating: "0", count: 64)] {
                let fields = token.map { [("csrf", $0)] + form } ?? form
                #expect(try await browser.post("/actions/\(proposal.id)/approve", fields).status == .forbidden)
                #expect(try await browser.post("/actions/\(proposal.id)/reject", (token.map { [("csrf", $0)] } ?? []) + [("reason", "not needed")]).status
                        == .forbidden)
            }
            let decisions = try fixture.store.load(proposal.id)?.decisions
            #expect(fixture.store.chain.count == rows && decisions?.isEmpty == true)
            // The same form with the token counts.
            let approved = try await browser.post("/actions/\(proposal.id)/approve", [("csrf", try await browser.csrf())] + form)
            #expect(approved.element("state") == "APPROVED")
        }
    }

    @Test("Reject needs a reason; the rejection is recorded under the console account")
    func rejects() async throws {
        let fixture = try ConsoleFixture()
        let proposal = try await fixture.propose()
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.bob)
            let csrf = try await browser.csrf()
            let bare = try await browser.post("/actions/\(proposal.id)/reject", [("csrf", csrf)])
            #expect(bare.status == .badRequest && bare.element("error")?.contains("field 'reason'") == true)
            let done = try await browser.post("/actions/\(proposal.id)/reject", [("csrf", csrf), ("reason", "restart at night instead")])
            #expect(done.element("state") == "REJECTED" && done.text.contains("restart at night instead"))
            let stored = try #require(try fixture.store.load(proposal.id))
            #expect(stored.state == .rejected && stored.decisions.first?.approver == "console:bob@example.org")
            #expect(try await browser.get("/").text.contains("No action is waiting"))
        }
    }

    @Test("Only an approver of the action's host rejects, and not one who approved it already: nothing is recorded otherwise")
    func rejectionNeedsTheHostsApprover() async throws {
        let carol = TestApproverKey("carol")
        let fixture = try ConsoleFixture(db1Approvers: [carol.approver()])
        let proposal = try await fixture.propose()
        let reboot = try await fixture.propose("reboot_system")
        try await fixture.run { browser in
            // carol approves db1 only: she logs in, and cannot veto web1's action.
            try await browser.logIn(as: carol)
            let csrf = try await browser.csrf()
            let foreign = try await browser.post("/actions/\(proposal.id)/reject", [("csrf", csrf), ("reason", "not my host but no")])
            #expect(foreign.element("error")?.contains("carol@example.org is not an approver of web1") == true, "\(foreign.text.prefix(500))")
            #expect(try fixture.store.load(proposal.id)?.state == .proposed)
        }
        try await fixture.run { browser in
            // alice approves the reboot (1 of 2), then cannot reject it.
            try await browser.logIn(as: fixture.alice)
            _ = try await Self.approve(reboot.id, in: browser, by: fixture.alice, reason: "maintenance window")
            #expect(try fixture.store.load(reboot.id)?.decisions.count == 1)
            let csrf = try await browser.csrf()
            let turned = try await browser.post("/actions/\(reboot.id)/reject", [("csrf", csrf), ("reason", "changed my mind")])
            #expect(turned.element("error")?.contains("approved this action already") == true, "\(turned.text.prefix(500))")
            #expect(try fixture.store.load(reboot.id)?.state == .proposed && fixture.store.load(reboot.id)?.decisions.count == 1)
        }
    }
}

import Foundation
import InfraConsole
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Review console: audit search, paging, JSON-lines export, verification, fleet")
struct ConsoleAuditTests {
    @Test("Search filters by kind, outcome, actor and action id; pages go back from the newest")
    func search() async throws {
        let fixture = try ConsoleFixture(settings: ConsoleSettings(auditPageSize: 2))
        let first = try await fixture.propose(), second = try await fixture.propose("reboot_system")
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            try await browser.logIn(as: fixture.mallory)
            let logins = try await browser.get("/audit?kind=console&outcome=login")
            #expect(logins.status == .ok && logins.text.contains("console:alice@example.org") && !logins.text.contains("login-refused"))
            let byActor = try await browser.get("/audit?kind=console&actor=console:alice@example.org")
            #expect(byActor.text.contains(fixture.alice.publicKey.fingerprint) && !byActor.text.contains(fixture.mallory.publicKey.fingerprint))
            let one = try await browser.get("/audit?proposal=\(second.id)")
            #expect(one.text.contains("reboot_system") && !one.text.contains("href=\"/actions/\(first.id)\""))

            let all = fixture.store.chain
            let newest = try await browser.get("/audit")
            let shown = newest.text.matches(of: /<td class="num">([0-9]+)<\/td>/).map { Int64($0.output.1)! }
            #expect(shown == [all[all.count - 1].seq, all[all.count - 2].seq])
            let older = try #require(newest.text.firstMatch(of: /href="\/audit(\?before=[0-9]+)" id="older"/)).output.1
            let page2 = try await browser.get("/audit" + older)
            #expect(page2.text.matches(of: /<td class="num">([0-9]+)<\/td>/).map { Int64($0.output.1)! } == [all[all.count - 3].seq, all[all.count - 4].seq])

            let bad = try await browser.get("/audit?since=yesterday")
            #expect(bad.status == .badRequest && bad.element("error")?.contains("field 'since'") == true)
            #expect(try await browser.get("/audit?host=web1%0A").status == .badRequest)
        }
    }

    @Test("Export gives the matching rows as JSON lines with their hashes, which still verify")
    func export() async throws {
        let fixture = try ConsoleFixture()
        let proposal = try await fixture.propose()
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            _ = try await ConsoleApprovalTests.approve(proposal.id, in: browser, by: fixture.alice)
            let export = try await browser.get("/audit/export?kind=approval")
            #expect(export.status == .ok && export.headers[.contentType] == "application/jsonl; charset=utf-8")
            #expect(export.headers[.contentDisposition] == "attachment; filename=\"audit.jsonl\"")
            let lines = export.text.split(separator: "\n")
            let rows = try lines.map { try JSONDecoder().decode(AuditChain.Record.self, from: Data($0.utf8)) }
            #expect(rows.count == 1 && rows[0].kind == "approval" && rows[0].details["osAccount"] == "console:alice@example.org")
            let everything = try await browser.get("/audit/export")
            let chain = try everything.text.split(separator: "\n").map { try JSONDecoder().decode(AuditChain.Record.self, from: Data($0.utf8)) }
            #expect(chain == fixture.store.chain && AuditChain.verify(chain) == nil)
        }
    }

    @Test("Verify shows the chain intact, then names the first broken row once a row is changed")
    func verify() async throws {
        let fixture = try ConsoleFixture()
        _ = try await fixture.propose()
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            let intact = try await browser.get("/audit/verify")
            #expect(intact.element("verdict")?.hasPrefix("Chain intact:") == true)
            let target = fixture.store.chain[1].seq
            fixture.store.tamperChain { rows in rows[1].outcome = "forged" }
            let broken = try await browser.get("/audit/verify")
            #expect(broken.element("verdict")?.hasPrefix("FAILED") == true && broken.text.contains("row \(target):"))
        }
    }

    @Test("The fleet lists every host; a probe (CSRF-checked) shows reachability, latency and drift")
    func fleet() async throws {
        let fixture = try ConsoleFixture()
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            let before = try await browser.get("/fleet")
            #expect(before.text.contains("web1") && before.text.contains("192.0.2.11") && before.text.contains("not probed yet"))
            #expect(try await browser.post("/fleet/probe", []).status == .forbidden)
            let probe = try await browser.post("/fleet/probe", [("csrf", try await browser.csrf())])
            #expect(probe.status == .seeOther && probe.headers[.location] == "/fleet")
            let after = try await browser.get("/fleet")
            #expect(after.text.contains("reach yes\">yes") && after.text.contains(" ms</td>") && after.text.contains("last probe:"))
        }
    }
}

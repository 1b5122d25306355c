import Foundation
import HTTPTypes
import InfraConsole
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Review console: login by SSH key, sessions, headers")
struct ConsoleLoginTests {
    static let policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

    @Test("A signed challenge opens a session: HttpOnly SameSite=Strict cookie, the queue, an audit row with principal and key")
    func logsIn() async throws {
        let fixture = try ConsoleFixture()
        try await fixture.run { browser in
            let login = try await browser.get("/login")
            #expect(login.status == .ok)
            let challenge = try #require(login.element("challenge"))
            #expect(challenge.hasPrefix("mcp-linux-infra console login v1 nonce="))
            #expect(login.text.contains("ssh-keygen -Y sign -n console-login@mcp-linux-infra -f"))
            #expect(!login.text.contains("type=\"password\""))
            let challengeCookie = try #require(login.headers[values: .setCookie].first { $0.hasPrefix("console_challenge=") })
            #expect(challengeCookie.contains("HttpOnly") && challengeCookie.contains("SameSite=Strict") && challengeCookie.contains("Path=/login"))
            let answer = try await browser.post("/login", [("nonce", try #require(login.input("nonce"))),
                                                           ("signature", fixture.alice.signature(over: challenge + "\n", namespace: ConsoleLogin.namespace))])
            #expect(answer.status == .seeOther && answer.headers[.location] == "/")
            let cookie = try #require(answer.headers[values: .setCookie].first { $0.hasPrefix("console_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
            let id = String(cookie.dropFirst("console_session=".count).prefix { $0 != ";" })
            #expect(id.count == 64 && ConsoleSecret.isWellFormed(id))
            let queue = try await browser.get("/")
            #expect(queue.status == .ok && queue.text.contains("Pending actions") && queue.text.contains("alice@example.org"))
            let row = try #require(fixture.rows(kind: "console").last)
            #expect(row.outcome == "login" && row.actor == "console:alice@example.org")
            #expect(row.details["principal"] == "alice@example.org" && row.details["key"] == fixture.alice.publicKey.fingerprint)
        }
    }

    @Test("The challenge without its final newline signs too; Secure cookies when configured for TLS")
    func secureCookieAndBareLine() async throws {
        let fixture = try ConsoleFixture(settings: ConsoleSettings(secureCookies: true))
        try await fixture.run { browser in
            let login = try await browser.get("/login")
            #expect(login.headers[values: .setCookie].allSatisfy { $0.contains("Secure") })
            let answer = try await browser.post("/login", [("nonce", try #require(login.input("nonce"))),
                                                           ("signature", fixture.bob.signature(over: try #require(login.element("challenge")),
                                                                                               namespace: ConsoleLogin.namespace))])
            #expect(answer.status == .seeOther)
            #expect(answer.headers[values: .setCookie].first { $0.hasPrefix("console_session=") }?.contains("Secure") == true)
        }
    }

    @Test("Refused: the approval namespace, an unknown key, a replayed nonce, a forged one, an expired one, another browser's; no session, no audit row")
    func refusals() async throws {
        let fixture = try ConsoleFixture()
        try await fixture.run { browser in
            let wrongNamespace = try await browser.logIn(as: fixture.alice, namespace: ApprovalStatement.namespace)
            #expect(wrongNamespace.status == .unauthorized && wrongNamespace.text.contains("namespace &#39;approval@mcp-linux-infra&#39;"))
            let unknown = try await browser.logIn(as: fixture.mallory)
            #expect(unknown.status == .unauthorized && unknown.text.contains("is not an approver key of any host"))

            // Replayed: a signature that logged in once does not log in again.
            let login = try await browser.get("/login")
            let nonce = try #require(login.input("nonce"))
            let signature = fixture.alice.signature(over: try #require(login.element("challenge")) + "\n", namespace: ConsoleLogin.namespace)
            #expect(try await browser.post("/login", [("nonce", nonce), ("signature", signature)]).status == .seeOther)
            browser.setCookie("console_session", nil)
            browser.setCookie("console_challenge", nonce)
            let replayed = try await browser.post("/login", [("nonce", nonce), ("signature", signature)])
            #expect(replayed.status == .unauthorized && replayed.text.contains("already used"))
            #expect(browser.cookies["console_session"] == nil)

            // Expired: answered after its five minutes.
            let late = try await browser.get("/login")
            fixture.clock.advance(301)
            let expired = try await browser.post("/login", [("nonce", try #require(late.input("nonce"))),
                                                            ("signature", fixture.alice.signature(over: try #require(late.element("challenge")),
                                                                                                  namespace: ConsoleLogin.namespace))])
            #expect(expired.status == .unauthorized && expired.text.contains("the challenge expired"))

            // Another browser's challenge (no challenge cookie): refused before any signature is read.
            let other = try await browser.get("/login")
            browser.setCookie("console_challenge", nil)
            let foreign = try await browser.post("/login", [("nonce", try #require(other.input("nonce"))),
                                                            ("signature", fixture.alice.signature(over: try #require(other.element("challenge")),
                                                                                                  namespace: ConsoleLogin.namespace))])
            #expect(foreign.status == .forbidden && browser.cookies["console_session"] == nil)
            #expect(try await browser.get("/").status == .seeOther)

            // Forged: a nonce of the right form that this server did not give out (its MAC does not check out).
            let forgedNonce = String(repeating: "ab", count: 32)
            browser.setCookie("console_challenge", forgedNonce)
            let forgedText = "\(ConsoleLogin.header) nonce=\(forgedNonce) not-after=2099-01-01T00:00:00Z"
            let forged = try await browser.post("/login", [("nonce", forgedNonce),
                                                           ("signature", fixture.alice.signature(over: forgedText, namespace: ConsoleLogin.namespace))])
            #expect(forged.status == .unauthorized && browser.cookies["console_session"] == nil)

            // A refusal writes no audit row (anyone who reaches the port could grow the log); the one login does.
            #expect(fixture.rows(kind: "console").map(\.outcome) == ["login"], "\(fixture.rows(kind: "console"))")
        }
    }

    @Test("Asking for many challenges makes the server forget none: an approver's challenge still logs in after 3000 others")
    func challengesAreNotEvicted() async throws {
        let fixture = try ConsoleFixture()
        try await fixture.run { browser in
            let mine = try await browser.get("/login")
            let nonce = try #require(mine.input("nonce")), challenge = try #require(mine.element("challenge"))
            for _ in 0..<3000 { _ = try await browser.get("/login") }
            browser.setCookie("console_challenge", nonce)
            let login = try await browser.post("/login", [("nonce", nonce),
                                                          ("signature", fixture.alice.signature(over: challenge, namespace: ConsoleLogin.namespace))])
            #expect(login.status == .seeOther && browser.cookies["console_session"] != nil, "\(login.status) \(login.text.prefix(300))")
        }
    }

    @Test("A bearer token (an MCP client's) opens nothing: the console never reads Authorization")
    func bearerTokenIsIgnored() async throws {
        let fixture = try ConsoleFixture()
        let proposal = try await fixture.propose()
        try await fixture.run { browser in
            let bearer: HTTPFields = [.authorization: "Bearer mlit_" + String(repeating: "A", count: 43)]
            for path in ["/", "/actions/\(proposal.id)", "/audit", "/audit/export", "/fleet"] {
                let page = try await browser.get(path, headers: bearer)
                #expect(page.status == .seeOther && page.headers[.location] == "/login", "\(path)")
                #expect(!page.text.contains("nginx"))
            }
            let posted = try await browser.post("/actions/\(proposal.id)/reject", [("reason", "not needed")], headers: bearer)
            #expect(posted.status == .unauthorized)
            #expect(try fixture.store.load(proposal.id)?.state == .proposed)
        }
    }

    @Test("Sessions end when idle, at their absolute end, and at logout (CSRF-checked); the clock is moved, nothing sleeps")
    func sessionExpiry() async throws {
        let fixture = try ConsoleFixture(settings: ConsoleSettings(sessionIdle: 900, sessionLifetime: 1800))
        try await fixture.run { browser in
            try await browser.logIn(as: fixture.alice)
            fixture.clock.advance(899)
            #expect(try await browser.get("/").status == .ok)
            fixture.clock.advance(901)
            #expect(try await browser.get("/").headers[.location] == "/login")

            try await browser.logIn(as: fixture.alice)
            for _ in 0..<2 {
                fixture.clock.advance(800)
                #expect(try await browser.get("/").status == .ok)
            }
            fixture.clock.advance(300)
            #expect(try await browser.get("/").headers[.location] == "/login", "past the absolute end, however active")

            try await browser.logIn(as: fixture.alice)
            let kept = browser.cookies["console_session"]
            #expect(try await browser.post("/logout", []).status == .forbidden)
            let out = try await browser.post("/logout", [("csrf", try await browser.csrf())])
            #expect(out.status == .seeOther && out.headers[.location] == "/login" && browser.cookies["console_session"] == nil)
            browser.setCookie("console_session", kept)
            #expect(try await browser.get("/").headers[.location] == "/login", "the old cookie opens nothing after logout")
        }
    }

    @Test("Every console response has the CSP, nosniff, no-referrer and no-store; pages load only the console's own script")
    func securityHeaders() async throws {
        let fixture = try ConsoleFixture()
        let proposal = try await fixture.propose()
        try await fixture.run { browser in
            var pages = [try await browser.get("/login"), try await browser.get("/")]
            try await browser.logIn(as: fixture.alice)
            for path in ["/", "/actions/\(proposal.id)", "/audit", "/audit/verify", "/fleet", "/static/console.js", "/static/console.css",
                         "/actions/zzzz"] {
                pages.append(try await browser.get(path))
            }
            for page in pages {
                #expect(page.headers[.contentSecurityPolicy] == Self.policy)
                #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                #expect(page.headers[.cacheControl] == "no-store")
                let scripts = page.text.ranges(of: "<script").count
                #expect(scripts == page.text.ranges(of: "<script src=\"/static/console.js\" defer></script>").count)
                #expect(page.text.firstMatch(of: /\son[a-z]+=/) == nil, "no inline event handler")
            }
            #expect(pages.last?.status == .notFound)
            #expect(pages[pages.count - 3].headers[.contentType] == "text/javascript; charset=utf-8")
        }
    }
}

import Foundation
import InfraDomain
import Testing

@Suite("HTTP client tokens: a name each, only the hash kept, revocation, strict file form (pure)")
struct ClientTokensTests {
    let at = Date(timeIntervalSince1970: 1_800_000_000)

    func random(_ seed: UInt8) -> [UInt8] { (0..<32).map { UInt8(truncatingIfNeeded: Int($0) * 7 + Int(seed)) } }

    @Test("A token authenticates as its name; the file text keeps its hash, never the token; a round trip keeps every field")
    func addAndAuthenticate() throws {
        var tokens = ClientTokens()
        let ci = try tokens.add(name: "ci-bot", random: random(1), at: at)
        let laptop = try tokens.add(name: "alice.laptop", random: random(2), at: at)
        #expect(ci.hasPrefix(ClientTokens.prefix) && ci.count == ClientTokens.prefix.count + 43 && ci != laptop)
        #expect(!ci.contains("+") && !ci.contains("/") && !ci.contains("="))
        #expect(tokens.authenticate(ci) == .client("ci-bot", .mcp))
        #expect(tokens.authenticate(laptop) == .client("alice.laptop", .mcp))
        #expect(tokens.authenticate(ci + "x") == .unknown && tokens.authenticate("") == .unknown)
        #expect(!tokens.text.contains(ci) && !tokens.text.contains(laptop))
        let read = try ClientTokens.parse(tokens.text, source: "http-tokens")
        #expect(read == tokens)
        #expect(read.authenticate(laptop) == .client("alice.laptop", .mcp))
    }

    @Test("A revoked token is told apart from an unknown one; revoking twice or an unknown name is refused")
    func revoke() throws {
        var tokens = ClientTokens()
        let token = try tokens.add(name: "ci-bot", random: random(3), at: at)
        try tokens.revoke(name: "ci-bot", at: at + 60)
        #expect(tokens.authenticate(token) == .revoked("ci-bot"))
        #expect(try ClientTokens.parse(tokens.text, source: "f").authenticate(token) == .revoked("ci-bot"))
        #expect(throws: ClientTokens.Problem.self) { try tokens.revoke(name: "ci-bot", at: at) }
        #expect(throws: ClientTokens.Problem.self) { try tokens.revoke(name: "nobody", at: at) }
    }

    @Test("Names: the allowed form only (they become audit actors), never reused, even once revoked")
    func names() throws {
        var tokens = ClientTokens()
        for bad in ["", "-x", "Alice", "a b", "a\u{1b}[2J", String(repeating: "a", count: 64), "a:b", "é"] {
            #expect(throws: ClientTokens.Problem.self, "\(bad)") { _ = try tokens.add(name: bad, random: random(4), at: at) }
        }
        _ = try tokens.add(name: String(repeating: "a", count: 63), random: random(5), at: at)
        _ = try tokens.add(name: "ci", random: random(6), at: at)
        try tokens.revoke(name: "ci", at: at)
        let again = #expect(throws: ClientTokens.Problem.self) { _ = try tokens.add(name: "ci", random: random(7), at: at) }
        #expect(again?.description.contains("never reused") == true)
        #expect(throws: ClientTokens.Problem.self) { _ = try tokens.add(name: "short", random: [1, 2, 3], at: at) }
    }

    @Test("A scope: metrics tokens say so in the file (scope=metrics), MCP tokens keep the old line form; authenticate returns it")
    func scopes() throws {
        var tokens = ClientTokens()
        let client = try tokens.add(name: "ci-bot", random: random(8), at: at)
        let scraper = try tokens.add(name: "prometheus", scope: .metrics, random: random(9), at: at)
        #expect(tokens.authenticate(client) == .client("ci-bot", .mcp))
        #expect(tokens.authenticate(scraper) == .client("prometheus", .metrics))
        let lines = tokens.text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines.count == 2 && !lines[0].contains("scope=") && lines[1].hasSuffix(" scope=metrics"), "\(lines)")
        try tokens.revoke(name: "prometheus", at: at + 60)
        #expect(tokens.text.contains(" scope=metrics revoked=20"), "\(tokens.text)")
        let read = try ClientTokens.parse(tokens.text, source: "http-tokens")
        #expect(read == tokens && read.entries.map(\.scope) == [.mcp, .metrics])
        #expect(read.authenticate(scraper) == .revoked("prometheus") && read.authenticate(client) == .client("ci-bot", .mcp))

        // A file written before scopes reads as MCP tokens; scope=mcp said explicitly is the same.
        let hash = String(repeating: "cd", count: 32)
        let old = try ClientTokens.parse("ci sha256:\(hash) 2026-11-30T10:00:00.000Z revoked=2026-12-01T10:00:00.000Z\n"
                                         + "cd sha256:\(String(repeating: "ef", count: 32)) 2026-11-30T10:00:00.000Z scope=mcp\n", source: "f")
        #expect(old.entries.map(\.scope) == [.mcp, .mcp] && old.entries[0].revoked == "2026-12-01T10:00:00.000Z")
        // An unknown scope, an empty one, or the fields out of order are refused with the line.
        for text in ["ci sha256:\(hash) 2026-11-30T10:00:00.000Z scope=admin\n", "ci sha256:\(hash) 2026-11-30T10:00:00.000Z scope=\n",
                     "ci sha256:\(hash) 2026-11-30T10:00:00.000Z revoked=2026-12-01T10:00:00.000Z scope=metrics\n",
                     "ci sha256:\(hash) 2026-11-30T10:00:00.000Z scope=metrics scope=metrics\n"] {
            let problem = #expect(throws: ClientTokens.Problem.self, "\(text)") { _ = try ClientTokens.parse(text, source: "f") }
            #expect(problem?.description.contains("f line 1:") == true && problem?.description.contains("mcp or metrics") == true,
                    "\(problem?.description ?? "")")
        }
    }

    @Test("A malformed or doubled line names the file and line; comments and blank lines are skipped")
    func strictFile() throws {
        let hash = String(repeating: "ab", count: 32)
        let good = "# comment\n\nci sha256:\(hash) 2026-11-30T10:00:00.000Z\n"
        #expect(try ClientTokens.parse(good, source: "f").entries.map(\.name) == ["ci"])
        for (text, line) in [("ci sha256:\(hash)\n", 1), ("ci md5:\(hash) 2026-11-30T10:00:00.000Z\n", 1),
                             ("# c\nCI sha256:\(hash) 2026-11-30T10:00:00.000Z\n", 2),
                             ("ci sha256:\(hash) 2026-11-30T10:00:00.000Z gone\n", 1),
                             ("ci sha256:\(hash) 2026-11-30T10:00:00.000Z\nci sha256:\(hash) 2026-11-30T10:00:00.000Z\n", 2)] {
            let problem = #expect(throws: ClientTokens.Problem.self) { _ = try ClientTokens.parse(text, source: "/etc/x/http-tokens") }
            #expect(problem?.description.hasPrefix("/etc/x/http-tokens line \(line):") == true, "\(problem?.description ?? "")")
        }
    }
}

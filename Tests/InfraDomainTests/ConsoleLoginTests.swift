import Foundation
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Console login: the challenge, its own namespace, the approvers' keys")
struct ConsoleLoginTests {
    let alice = TestApproverKey("alice"), bob = TestApproverKey("bob"), mallory = TestApproverKey("mallory")
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    var challenge: ConsoleLogin { ConsoleLogin(random: Array(repeating: 0xab, count: ConsoleLogin.nonceBytes), notAfter: now + 300) }
    var approvers: [Approver] { [alice.approver(), bob.approver()] }

    @Test("The text is one line naming the nonce and the end; the namespace is the console's, never the approval one")
    func text() throws {
        #expect(challenge.text == "mcp-linux-infra console login v1 nonce=\(String(repeating: "ab", count: 32)) not-after=2027-01-15T08:05:00Z")
        #expect(ConsoleLogin.namespace == "console-login@mcp-linux-infra" && ConsoleLogin.namespace != ApprovalStatement.namespace)
        #expect(ConsoleLogin.isNonce(challenge.nonce) && !ConsoleLogin.isNonce("AB" + challenge.nonce.dropFirst(2)) && !ConsoleLogin.isNonce("ab"))
        #expect(throws: ApprovalStatement.Problem.self) { try ApprovalStatement.parse(challenge.text + "\n") }
    }

    @Test("An approver's signature of the text (with or without its newline) logs in as that approver")
    func verifies() throws {
        for text in [challenge.text, challenge.text + "\n"] {
            let signature = bob.signature(over: text, namespace: ConsoleLogin.namespace)
            #expect(try challenge.verify(signature: signature, approvers: approvers, principal: nil, now: now) == bob.approver())
        }
    }

    @Test("A signature for one namespace never verifies for the other")
    func namespacesAreSeparate() throws {
        let approval = alice.signature(over: challenge.text, namespace: ApprovalStatement.namespace)
        #expect(throws: ConsoleLogin.Refusal.wrongNamespace(found: ApprovalStatement.namespace, fingerprint: alice.publicKey.fingerprint)) {
            try challenge.verify(signature: approval, approvers: approvers, principal: nil, now: now)
        }
        let login = try SSHSignature.parse(armored: alice.signature(over: "statement\n", namespace: ConsoleLogin.namespace))
        #expect(throws: SSHSignature.Problem.wrongNamespace(expected: ApprovalStatement.namespace, found: ConsoleLogin.namespace)) {
            try login.verify(message: Array("statement\n".utf8), namespace: ApprovalStatement.namespace)
        }
    }

    @Test("Refused: past the end, another text, a key no approver has, an unreadable signature")
    func refusals() throws {
        let signed = alice.signature(over: challenge.text, namespace: ConsoleLogin.namespace)
        #expect(throws: ConsoleLogin.Refusal.expired(now + 300)) {
            try challenge.verify(signature: signed, approvers: approvers, principal: nil, now: now + 301)
        }
        let other = ConsoleLogin(random: Array(repeating: 0xcd, count: 32), notAfter: now + 300)
        #expect(throws: ConsoleLogin.Refusal.badSignature(fingerprint: alice.publicKey.fingerprint)) {
            try other.verify(signature: signed, approvers: approvers, principal: nil, now: now)
        }
        #expect(throws: ConsoleLogin.Refusal.unknownKey(fingerprint: mallory.publicKey.fingerprint)) {
            try challenge.verify(signature: mallory.signature(over: challenge.text, namespace: ConsoleLogin.namespace), approvers: approvers,
                                 principal: nil, now: now)
        }
        do {
            _ = try challenge.verify(signature: "hello", approvers: approvers, principal: nil, now: now)
            Issue.record("accepted")
        } catch {
            #expect(error.reason == "malformed" && error.fingerprint == nil && error.description.contains("BEGIN and END lines"))
        }
    }

    @Test("A key listed under two principals needs the principal chosen, and only a listed one")
    func sharedKey() throws {
        let listed = approvers + [alice.approver(as: "alice-admin@example.org")]
        let signed = alice.signature(over: challenge.text, namespace: ConsoleLogin.namespace)
        #expect(throws: ConsoleLogin.Refusal.principal(fingerprint: alice.publicKey.fingerprint, listed: ["alice@example.org", "alice-admin@example.org"],
                                                      chosen: nil)) {
            try challenge.verify(signature: signed, approvers: listed, principal: nil, now: now)
        }
        #expect(try challenge.verify(signature: signed, approvers: listed, principal: "alice-admin@example.org", now: now).principal == "alice-admin@example.org")
        #expect(throws: ConsoleLogin.Refusal.self) { try challenge.verify(signature: signed, approvers: listed, principal: "bob@example.org", now: now) }
    }

    @Test("Console secrets: 64 hex digits, hashed for keeping, compared whatever differs")
    func secrets() {
        let secret = ConsoleSecret(random: Array(0..<32))
        #expect(ConsoleSecret.isWellFormed(secret.text) && !ConsoleSecret.isWellFormed(secret.text.uppercased()))
        #expect(ConsoleSecret.hash(secret.text).count == 64 && ConsoleSecret.hash(secret.text) != secret.text)
        #expect(ConsoleSecret.matches(secret.text, secret.text) && !ConsoleSecret.matches(secret.text, secret.text + "0"))
        #expect(!ConsoleSecret.matches("", secret.text) && !ConsoleSecret.matches(String(secret.text.dropLast()) + "x", secret.text))
    }
}

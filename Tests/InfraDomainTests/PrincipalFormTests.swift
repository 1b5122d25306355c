import Foundation
import InfraDomain
import Testing

/// A principal is passed to `ssh-keygen -Y verify -I` on the target, so one leading `-` would make it an
/// option. The inventory and the approval statement must therefore refuse the same principals, by one rule.
@Suite("One principal form: the inventory's approvers and the approval statement")
struct PrincipalFormTests {
    /// A canonical statement, as ``ApprovalStatementTests/statement(parameters:)`` makes it, with its
    /// principal line rewritten to `principal` (bypassing ``ApprovalStatement/text()``'s own check).
    static func statementText(principal: String) throws -> String {
        let canonical = try ApprovalStatementTests.statement().text()
        let rewritten = canonical.replacingOccurrences(of: "\nprincipal: alice@example.org\n", with: "\nprincipal: \(principal)\n")
        #expect(rewritten != canonical || principal == "alice@example.org")
        return rewritten
    }

    /// The inventory text of one host whose only approver is `principal` (single-quoted in YAML, so every
    /// candidate here reaches the principal check as it is).
    static func inventoryText(principal: String) -> String {
        "all:\n  hosts:\n    web1:\n      mcp_approvers: [{principal: '\(principal)', key: \"\(InventoryParserTests.aliceKey)\"}]\n"
    }

    /// Nil when ApprovalStatement.parse accepts a statement with this principal, else why it refused.
    static func statementRefusal(_ principal: String) -> String? {
        do {
            _ = try ApprovalStatement.parse(try statementText(principal: principal))
            return nil
        } catch {
            return String(describing: error)
        }
    }

    /// Nil when InventoryParser.parse accepts an approver with this principal, else why it refused.
    static func inventoryRefusal(_ principal: String) -> String? {
        do {
            _ = try InventoryParser.parse(inventoryText(principal: principal), source: "inv.yml")
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test("A statement whose principal is -x is refused by ApprovalStatement.parse, naming the principal form")
    func statementRefusesLeadingDash() throws {
        #expect(throws: Never.self) { try ApprovalStatement.parse(try Self.statementText(principal: "alice@example.org")) }
        #expect {
            try ApprovalStatement.parse(try Self.statementText(principal: "-x"))
        } throws: { error in
            String(describing: error).contains("principal") && String(describing: error).contains(Approver.principalForm)
        }
        var statement = ApprovalStatementTests.statement()
        statement.principal = "-x"
        #expect(throws: ApprovalStatement.Problem.self) { try statement.text() }
    }

    @Test("An inventory approver -x is refused, naming the host, the line and the principal form")
    func inventoryRefusesLeadingDash() throws {
        #expect(throws: Never.self) { try InventoryParser.parse(Self.inventoryText(principal: "alice@example.org"), source: "inv.yml") }
        #expect {
            try InventoryParser.parse(Self.inventoryText(principal: "-x"), source: "inv.yml")
        } throws: { error in
            let text = String(describing: error)
            return text.contains("web1: mcp_approvers") && text.contains("inv.yml") && text.contains("'-x'")
                && text.contains(Approver.principalForm)
        }
    }

    @Test("The inventory, the statement and Approver.isValidPrincipal accept and refuse exactly the same principals")
    func oneRule() {
        let cases: [(principal: String, valid: Bool)] = [
            ("alice@example.org", true), ("x", true), ("x-", true), ("a-b", true), ("+x", true), ("_x", true), (".x", true),
            ("alice+ops@example.org", true), (String(repeating: "a", count: 128), true),
            ("-x", false), ("-", false), ("--help", false), (String(repeating: "a", count: 129), false),
            ("alice smith", false), ("a,b", false), ("a*", false), ("a\"b", false), ("é", false), ("e\u{301}", false),
        ]
        for (principal, valid) in cases {
            #expect(Approver.isValidPrincipal(principal) == valid, "isValidPrincipal(\(principal.debugDescription))")
            // A refusal must be the principal rule's, not some other check's.
            for refusal in [Self.statementRefusal(principal), Self.inventoryRefusal(principal)] {
                if valid {
                    #expect(refusal == nil, "\(principal.debugDescription) refused: \(refusal ?? "")")
                } else {
                    #expect(refusal?.contains(Approver.principalForm) == true, "\(principal.debugDescription): \(refusal ?? "accepted")")
                }
            }
        }
    }
}

import Foundation
import InfraDomain
import Testing

@Suite("Ansible YAML inventory")
struct InventoryParserTests {
    let text = """
        all:
          vars:
            ansible_port: 22
          hosts:
            bastion:
          children:
            dns:
              vars:
                ansible_port: 2200
              hosts:
                ns1:
                  ansible_host: 10.0.0.11
                ns2:
                  ansible_host: 10.0.0.12
                  ansible_port: 2202
            web:
              children:
                web_eu:
                  hosts:
                    web1:
                      ansible_host: web1.example.org
                      mcp_allowed_services: [nginx.service, php8.2-fpm.service]
        """

    @Test("Hosts, groups, nested children and variable precedence")
    func parsesAnsibleInventory() throws {
        let inventory = try InventoryParser.parse(text, source: "inv.yml")
        #expect(inventory.hosts.map(\.name) == ["bastion", "ns1", "ns2", "web1"])
        #expect(inventory.host(named: "bastion")?.address == "bastion")
        #expect(inventory.host(named: "bastion")?.port == 22)
        #expect(inventory.host(named: "ns1")?.port == 2200)       // group var over all var
        #expect(inventory.host(named: "ns2")?.port == 2202)       // host var over group var
        #expect(inventory.host(named: "web1")?.allowedServices == ["nginx.service", "php8.2-fpm.service"])
        #expect(inventory.groups["web"] == ["web1"])               // through a child group
        #expect(inventory.groups["ungrouped"] == ["bastion"])
        #expect(try inventory.resolve("dns").map(\.name) == ["ns1", "ns2"])
        #expect(try inventory.resolve("ns2,web").map(\.name) == ["ns2", "web1"])
    }

    @Test("Only inventory names resolve; one unknown name refuses the whole expression")
    func unknownTargetsAreRefused() throws {
        let inventory = try InventoryParser.parse(text, source: "inv.yml")
        #expect(throws: Inventory.UnknownTarget.self) { try inventory.resolve("ns1,evil.example.com") }
        #expect(throws: Inventory.UnknownTarget.self) { try inventory.resolve("10.0.0.11") }
        #expect(throws: Inventory.UnknownTarget.self) { try inventory.resolve("") }
    }

    @Test("Bad values name the host, the variable and the line")
    func badValues() {
        let cases: [(String, String, Int)] = [
            ("all:\n  hosts:\n    a:\n      ansible_port: 70000\n", "a: ansible_port", 4),
            ("all:\n  hosts:\n    a:\n      ansible_host: \"x; rm -rf /\"\n", "a: ansible_host", 4),
            ("all:\n  hosts:\n    web[1:3]:\n", "web[1:3]", 3),
            ("all:\n  hosts:\n    a:\n      mcp_allowed_services: [\"--host=x\"]\n", "a: mcp_allowed_services", 4),
        ]
        for (yaml, field, line) in cases {
            do {
                _ = try InventoryParser.parse(yaml, source: "inv.yml")
                Issue.record("expected an error for \(field)")
            } catch {
                #expect(error.field == field)
                #expect(error.line == line)
                #expect(!error.fix.isEmpty)
            }
        }
    }

    @Test("The deployment role's mcp_infra_ variables are left to it; other unknown mcp_ variables are errors")
    func roleVariables() throws {
        let yaml = "all:\n  vars:\n    mcp_infra_allowed_from: [10.0.0.1]\n  hosts:\n    a:\n      mcp_infra_sshd_dropin: true\n"
        let inventory = try InventoryParser.parse(yaml, source: "inv.yml")
        #expect(inventory.hosts.map(\.name) == ["a"])
        do {
            _ = try InventoryParser.parse("all:\n  hosts:\n    a:\n      mcp_infrastructure: 1\n", source: "inv.yml")
            Issue.record("expected an error for mcp_infrastructure")
        } catch {
            #expect(error.field == "a: mcp_infrastructure")
        }
    }

    @Test("The shipped example inventory parses: the same file serves Ansible and the server")
    func exampleInventory() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let text = try String(contentsOf: url.appendingPathComponent("inventory.example.yml"), encoding: .utf8)
        let inventory = try InventoryParser.parse(text, source: "inventory.example.yml")
        #expect(inventory.hosts.map(\.name).sorted() == ["bastion", "ns1", "web1"])
    }

    @Test("Invalid YAML reports its line")
    func invalidYAML() {
        do {
            _ = try InventoryParser.parse("all:\n  hosts:\n    a: [unclosed\n", source: "inv.yml")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .malformedLine)
            #expect(error.line != nil)
        }
    }

    static let aliceKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIForGNVjNbc/l0pVosLVM2b2Ue38mz6CYYnMSL7kPUwx alice"
    static let bobKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRIeG2yJ2a3Ptl8JEfsTGmZ4DCNmCBLR1JrlGGYO4jv bob"

    @Test("mcp_approvers: a group's list, replaced by a host's own; rendered as allowed_signers limited to approvals")
    func approvers() throws {
        let inventory = try InventoryParser.parse("""
            all:
              vars:
                mcp_approvers: [{principal: alice@example.org, key: "\(Self.aliceKey)"}]
              hosts:
                web1:
                db1:
                  mcp_approvers:
                    - principal: bob@example.org
                      key: "\(Self.bobKey)"
                    - {principal: alice@example.org, key: "\(Self.aliceKey)"}
            """, source: "inv.yml")
        #expect(inventory.host(named: "web1")?.approvers.map(\.principal) == ["alice@example.org"])
        #expect(inventory.host(named: "db1")?.approvers.map(\.principal) == ["bob@example.org", "alice@example.org"])
        let lines = Approver.allowedSigners(inventory.host(named: "db1")?.approvers ?? [])
        #expect(lines == """
            bob@example.org namespaces="approval@mcp-linux-infra" \(Self.bobKey.split(separator: " ")[0...1].joined(separator: " "))
            alice@example.org namespaces="approval@mcp-linux-infra" \(Self.aliceKey.split(separator: " ")[0...1].joined(separator: " "))

            """)
    }

    @Test("mcp_approvers refuses RSA, a missing key, a principal with spaces, a principal listed twice and a key listed twice, naming host and line")
    func approversRefused() {
        let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 alice"
        for (body, words) in [("[{principal: alice@example.org, key: \"\(rsa)\"}]", "RSA keys are refused"),
                              ("[{principal: alice@example.org}]", "exactly 'principal' and 'key'"),
                              ("[{principal: \"alice smith\", key: \"\(Self.aliceKey)\"}]", "is not of the form"),
                              ("[{principal: a@x, key: \"\(Self.aliceKey)\"}, {principal: a@x, key: \"\(Self.bobKey)\"}]", "listed twice"),
                              // One key under two principals: one person would count twice (the comment differs; the key does not).
                              ("[{principal: alice@x, key: \"\(Self.aliceKey)\"}, {principal: alice-admin@x, key: \"\(Self.aliceKey.split(separator: " ")[0...1].joined(separator: " ")) other\"}]",
                               "alice-admin@x and alice@x have the same key"),
                              ("alice", "list of {principal, key}")] {
            #expect {
                try InventoryParser.parse("all:\n  hosts:\n    web1:\n      mcp_approvers: \(body)\n", source: "inv.yml")
            } throws: { error in
                let text = String(describing: error)
                return text.contains("web1: mcp_approvers") && text.contains(words) && text.contains("inv.yml")
            }
        }
    }

    @Test("mcp_approval_max_window: per host with group precedence, default 3600, 60 to 86400")
    func approvalWindow() throws {
        let inventory = try InventoryParser.parse("""
            all:
              vars:
                mcp_approval_max_window: 600
              hosts:
                web1:
                db1:
                  mcp_approval_max_window: 86400
            """, source: "inv.yml")
        #expect(inventory.host(named: "web1")?.approvalMaxWindow == 600 && inventory.host(named: "db1")?.approvalMaxWindow == 86_400)
        #expect(try InventoryParser.parse("all:\n  hosts:\n    web1:\n", source: "inv.yml").host(named: "web1")?.approvalMaxWindow == 3600)
        for value in ["59", "86401", "1h", "-5"] {
            #expect {
                try InventoryParser.parse("all:\n  hosts:\n    web1:\n      mcp_approval_max_window: \(value)\n", source: "inv.yml")
            } throws: { error in
                String(describing: error).contains("web1: mcp_approval_max_window") && String(describing: error).contains("from 60 to 86400")
            }
        }
    }

    @Test("mcp_approvals_low/_medium/_high: per host with group precedence, 1 to 5, and the policy takes the host's number")
    func approvalsPerImpact() throws {
        let inventory = try InventoryParser.parse("""
            all:
              vars:
                mcp_approvals_high: 3
              hosts:
                web1:
                db1:
                  mcp_approvals_medium: 2
                  mcp_approvals_high: 4
            """, source: "inv.yml")
        let web1 = try #require(inventory.host(named: "web1")), db1 = try #require(inventory.host(named: "db1"))
        #expect(web1.requiredApprovals == [.high: 3] && db1.requiredApprovals == [.medium: 2, .high: 4])
        let policy = ApprovalPolicy(requiredApprovals: [.low: 1, .medium: 1, .high: 2], proposalLifetime: .seconds(60), approvalLifetime: .seconds(60))
        #expect(policy.approvalsNeeded(for: .high, on: web1) == 3 && policy.approvalsNeeded(for: .medium, on: web1) == 1)
        #expect(policy.approvalsNeeded(for: .medium, on: db1) == 2 && policy.approvalsNeeded(for: .high, on: db1) == 4)
        for bad in ["0", "6", "two"] {
            #expect {
                try InventoryParser.parse("all:\n  hosts:\n    web1:\n      mcp_approvals_low: \(bad)\n", source: "inv.yml")
            } throws: { error in String(describing: error).contains("web1: mcp_approvals_low") && String(describing: error).contains("1 to 5") }
        }
    }
}

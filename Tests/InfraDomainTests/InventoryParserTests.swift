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
}

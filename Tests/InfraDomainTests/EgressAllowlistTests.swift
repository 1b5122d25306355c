import InfraDomain
import Testing

@Suite("Egress allowlists (pure): what a host may fetch or ping, and what it never may")
struct EgressAllowlistTests {
    @Test("URLs: exact entries and prefixes ending in /; a look-alike host or a longer name is not a prefix")
    func urls() {
        let list = ["http://127.0.0.1/health", "https://intranet.example.org/status/"]
        #expect(EgressAllowlist.permitsURL("http://127.0.0.1/health", list: list))
        #expect(!EgressAllowlist.permitsURL("http://127.0.0.1/health2", list: list))
        #expect(EgressAllowlist.permitsURL("https://intranet.example.org/status/db", list: list))
        #expect(!EgressAllowlist.permitsURL("https://intranet.example.org.attacker.example/status/", list: list))
        #expect(!EgressAllowlist.permitsURL("http://127.0.0.1:2019/config/", list: list))
    }

    @Test("Ping targets: names without regard to case, addresses, IPv4 CIDRs")
    func pings() {
        let list = ["Gateway.example.org", "10.0.0.0/24", "192.0.2.1", "2001:db8::1"]
        #expect(EgressAllowlist.permitsPing("gateway.example.org", list: list))
        #expect(EgressAllowlist.permitsPing("10.0.0.200", list: list) && !EgressAllowlist.permitsPing("10.0.1.1", list: list))
        #expect(EgressAllowlist.permitsPing("192.0.2.1", list: list) && !EgressAllowlist.permitsPing("192.0.2.10", list: list))
        #expect(EgressAllowlist.permitsPing("2001:db8::1", list: list))
        #expect(!EgressAllowlist.permitsPing("exfil.attacker.example", list: list))
        #expect(EgressAllowlist.permitsPing("1.2.3.4", list: ["0.0.0.0/0"]))
    }

    @Test("Link-local and metadata addresses are forbidden whatever the lists say")
    func forbidden() {
        for address in ["169.254.169.254", "169.254.0.1", "fe80::1", "FE80::abcd", "febf::1", "fd00:ec2::254", "100.100.100.200",
                        "::ffff:169.254.169.254", "0.0.0.0"] {
            #expect(EgressAllowlist.isForbiddenAddress(address), "\(address)")
        }
        for address in ["127.0.0.1", "10.0.0.1", "fec0::1", "2001:db8::1", "192.0.2.1"] {
            #expect(!EgressAllowlist.isForbiddenAddress(address), "\(address)")
        }
        let host = InventoryHost(name: "web1", address: "10.0.0.5")
        var listed = host
        listed.httpChecks = ["http://169.254.169.254/"]
        #expect(EgressAllowlist.refusal(url: "http://169.254.169.254/latest/", on: listed)?.contains("link-local or cloud metadata") == true)
        #expect(EgressAllowlist.refusal(url: "http://127.0.0.1/", on: host)?.contains("mcp_http_checks") == true)
        #expect(EgressAllowlist.refusal(ping: "10.0.0.1", on: host)?.contains("mcp_ping_targets") == true)
        #expect(EgressAllowlist.refusal(container: "web", on: host)?.contains("mcp_allowed_containers") == true)
    }

    @Test("The inventory reads the three lists per host and refuses malformed entries, naming the variable")
    func inventory() throws {
        let inventory = try InventoryParser.parse("""
            all:
              vars:
                mcp_ping_targets: [10.0.0.0/24]
              hosts:
                web1:
                  ansible_host: 10.0.0.5
                  mcp_allowed_containers: [web, worker]
                  mcp_http_checks: ["http://127.0.0.1:8080/health"]
            """, source: "inventory.yml")
        let host = try #require(inventory.host(named: "web1"))
        #expect(host.allowedContainers == ["web", "worker"] && host.httpChecks == ["http://127.0.0.1:8080/health"] && host.pingTargets == ["10.0.0.0/24"])
        for (variable, value) in [("mcp_http_checks", "[\"file:///etc/passwd\"]"), ("mcp_ping_targets", "[\"-f\"]"), ("mcp_allowed_containers", "[\"-rf\"]")] {
            #expect(throws: ConfigurationError.self) {
                _ = try InventoryParser.parse("all:\n  hosts:\n    web1:\n      \(variable): \(value)\n", source: "inventory.yml")
            }
        }
    }
}

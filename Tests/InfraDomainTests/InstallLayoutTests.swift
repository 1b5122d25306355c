import InfraDomain
import Testing

@Suite("Install layout")
struct InstallLayoutTests {
    @Test("The default layout's paths and settings are the contract's (docs/INSTALL.md)")
    func defaults() throws {
        let layout = try InstallLayout()
        #expect(layout.settingsFile == "/etc/mcp-linux-infra/settings.env")
        #expect(layout.keyFile("pra-runner") == "/etc/mcp-linux-infra/keys/pra-runner")
        #expect(layout.databaseFile == "/var/lib/mcp-linux-infra/db/state.sqlite3")
        #expect(layout.httpTokensFile == "/var/lib/mcp-linux-infra/http-tokens")
        #expect(layout.agentSocket == "/run/mcp-linux-infra/agent.sock")
        let settings = layout.settingsText.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(settings == [
            "LINUX_MCP_INVENTORY=inventory.yml",
            "LINUX_MCP_KNOWN_HOSTS=known_hosts",
            "LINUX_MCP_CATALOGUE=/usr/share/mcp-linux-infra/system/pra-catalogue.tsv",
            "LINUX_MCP_READER_KEY=keys/mcp-reader",
            "LINUX_MCP_RUNNER_KEY=keys/pra-runner",
            "LINUX_MCP_DB=/var/lib/mcp-linux-infra/db/state.sqlite3",
            "LINUX_MCP_HTTP_TOKENS=/var/lib/mcp-linux-infra/http-tokens",
            "LINUX_MCP_SSH_AGENT=auto",
        ])
        let modes = Dictionary(uniqueKeysWithValues: layout.directories.map { ($0.path, $0.mode) })
        #expect(modes == ["/etc/mcp-linux-infra": 0o755, "/etc/mcp-linux-infra/keys": 0o750,
                          "/var/lib/mcp-linux-infra": 0o755, "/var/lib/mcp-linux-infra/db": 0o2770])
        #expect(layout.privateKeyItem("mcp-reader").mode == 0o640 && layout.privateKeyItem("mcp-reader").group == .account)
        let database = layout.databaseItem(layout.databaseFile)
        #expect(database.kind == .file && database.owner == .account && database.group == .approvers && database.mode == 0o660)
    }

    @Test("Under a prefix every path moves, the catalogue given stays as given, and outside paths in the settings are absolute")
    func prefixed() throws {
        let layout = try InstallLayout(prefix: "/tmp/p/", account: "acct", approversGroup: "appr", catalogue: "/src/system/pra-catalogue.tsv")
        #expect(layout.configDirectory == "/tmp/p/etc/mcp-linux-infra")
        #expect(layout.settingsText.contains("LINUX_MCP_DB=/tmp/p/var/lib/mcp-linux-infra/db/state.sqlite3\n"))
        #expect(layout.settingsText.contains("LINUX_MCP_CATALOGUE=/src/system/pra-catalogue.tsv\n"))
        #expect(layout.settingsText.contains("LINUX_MCP_INVENTORY=inventory.yml\n"))
    }

    @Test("Bad options are refused naming the option")
    func refusals() {
        for (options, option) in [(("relative", "a", "b", "/c"), "--prefix"), (("/", "Root!", "b", "/c"), "--account"),
                                  (("/", "a", "-g", "/c"), "--approvers-group"), (("/", "a", "b", "c.tsv"), "--catalogue"),
                                  (("/", "same", "same", "/c"), "--approvers-group")] {
            do {
                _ = try InstallLayout(prefix: options.0, account: options.1, approversGroup: options.2, catalogue: options.3)
                Issue.record("\(option) \(options) was accepted")
            } catch {
                #expect(error.description.hasPrefix(option), "\(error.description)")
            }
        }
        #expect(InstallLayout.isValidName("mcp-linux-infra") && !InstallLayout.isValidName("") && !InstallLayout.isValidName(String(repeating: "a", count: 33)))
    }
}

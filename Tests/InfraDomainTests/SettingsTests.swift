import InfraDomain
import Testing

@Suite("Settings and .env parsing")
struct SettingsTests {
    @Test("Defaults apply when nothing is set")
    func defaults() throws {
        let settings = try Settings.resolve(.init(environment: [:]))
        #expect(settings.inventoryPath == "inventory.yml")
        #expect(settings.reader.user == "mcp-reader")
        #expect(settings.runner.publicKeyPath == "keys/pra-runner.pub")
        #expect(settings.commandTimeout == .seconds(30))
        #expect(settings.agentSocket == nil)
    }

    @Test("auto uses SSH_AUTH_SOCK; none ignores it; a path must be absolute")
    func agentSetting() throws {
        let auto = try Settings.resolve(.init(environment: ["SSH_AUTH_SOCK": "/tmp/a.sock"]))
        #expect(auto.agentSocket == "/tmp/a.sock")
        let none = try Settings.resolve(.init(environment: ["SSH_AUTH_SOCK": "/tmp/a.sock", "LINUX_MCP_SSH_AGENT": "none"]))
        #expect(none.agentSocket == nil)
        #expect(throws: ConfigurationError.self) { try Settings.resolve(.init(environment: ["LINUX_MCP_SSH_AGENT": "relative.sock"])) }
    }

    @Test(".env: comments, export, quotes, no expansion")
    func dotEnv() throws {
        let text = "# c\nexport LINUX_MCP_LOG_LEVEL=debug\nLINUX_MCP_READER_USER=\"reader\"\nLINUX_MCP_INVENTORY='$(id)' \n\nLINUX_MCP_RUNNER_USER=runner # trailing\n"
        let parsed = try DotEnvParser.parse(text, source: ".env")
        #expect(parsed.map(\.key) == ["LINUX_MCP_LOG_LEVEL", "LINUX_MCP_READER_USER", "LINUX_MCP_INVENTORY", "LINUX_MCP_RUNNER_USER"])
        #expect(parsed.map(\.value) == ["debug", "reader", "$(id)", "runner"])
        #expect(parsed.map(\.line) == [2, 3, 4, 6])
    }

    @Test("Invalid account names and log levels are refused")
    func invalidValues() {
        #expect(throws: ConfigurationError.self) { try Settings.resolve(.init(environment: ["LINUX_MCP_READER_USER": "root;id"])) }
        #expect(throws: ConfigurationError.self) { try Settings.resolve(.init(environment: ["LINUX_MCP_LOG_LEVEL": "loud"])) }
        #expect(throws: ConfigurationError.self) { try DotEnvParser.parse("LINUX_MCP_X=\"open\n", source: ".env") }
    }

    @Test("LINUX_MCP_AUDIT_WITNESS: /dev/log by default; any absolute socket path; else an error naming the field and the fix")
    func auditWitness() throws {
        #expect(try Settings.resolve(.init(environment: [:])).auditWitnessSocket == "/dev/log")
        #expect(try Settings.resolve(.init(environment: ["LINUX_MCP_AUDIT_WITNESS": "/run/sink/log.sock"])).auditWitnessSocket == "/run/sink/log.sock")
        let fromFile = try Settings.resolve(.init(environment: [:], dotEnv: try DotEnvParser.parse("LINUX_MCP_AUDIT_WITNESS=/tmp/w.sock\n", source: ".env")))
        #expect(fromFile.auditWitnessSocket == "/tmp/w.sock")
        for bad in ["dev/log", "/" + String(repeating: "s", count: 107), "/tmp/a\u{1b}b"] {
            do {
                _ = try Settings.resolve(.init(environment: ["LINUX_MCP_AUDIT_WITNESS": bad]))
                Issue.record("'\(bad)' was accepted")
            } catch {
                let text = String(describing: error)
                #expect(text.contains("LINUX_MCP_AUDIT_WITNESS") && text.contains("absolute unix socket path") && text.contains("/dev/log"), "\(text)")
            }
        }
        do {
            _ = try Settings.resolve(.init(environment: [:], dotEnv: try DotEnvParser.parse("\nLINUX_MCP_AUDIT_WITNESS=log.sock\n", source: "/etc/x/.env"),
                                           dotEnvPath: "/etc/x/.env"))
            Issue.record("a relative path was accepted")
        } catch {
            #expect(String(describing: error).contains("/etc/x/.env") && String(describing: error).contains("2"), "\(error)")
        }
        #expect(throws: ConfigurationError.self) { try Settings.resolve(.init(environment: ["LINUX_MCP_AUDIT_WITNES": "/dev/log"])) }
    }

    @Test("LINUX_MCP_EXECUTION_LEASE_SECONDS: 60 by default, 3 to 3600; else an error naming the field, the range and the fix")
    func executionLease() throws {
        #expect(try Settings.resolve(.init(environment: [:])).executionLease == .seconds(60))
        #expect(try Settings.resolve(.init(environment: ["LINUX_MCP_EXECUTION_LEASE_SECONDS": "3"])).executionLease == .seconds(3))
        #expect(try Settings.resolve(.init(environment: ["LINUX_MCP_EXECUTION_LEASE_SECONDS": "3600"])).executionLease == .seconds(3600))
        for bad in ["2", "3601", "0", "-5", "sixty", "60s", ""] {
            do {
                _ = try Settings.resolve(.init(environment: ["LINUX_MCP_EXECUTION_LEASE_SECONDS": bad]))
                Issue.record("'\(bad)' was accepted")
            } catch {
                let text = String(describing: error)
                #expect(text.contains("LINUX_MCP_EXECUTION_LEASE_SECONDS") && text.contains("from 3 to 3600")
                        && text.contains("set LINUX_MCP_EXECUTION_LEASE_SECONDS to a number in that range"), "\(text)")
            }
        }
    }
}

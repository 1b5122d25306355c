import Foundation
import InfraConfig
import InfraDomain
import InfraTestSupport
import Testing

/// A scratch directory with a complete, valid configuration that each test then breaks in one way.
struct ConfigFixture {
    let directory: String

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true)
        for name in ["mcp-reader", "pra-runner"] {
            let generated = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(directory)/keys/\(name)"])
            #expect(generated.status == 0)
        }
        let hostKey = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(directory)/hostkey"])
        #expect(hostKey.status == 0)
        let pub = try String(contentsOfFile: directory + "/hostkey.pub", encoding: .utf8).split(separator: " ")
        try write("keys/known_hosts", "[10.0.0.5]:2222 \(pub[0]) \(pub[1])\n")
        try write("inventory.yml", """
            all:
              hosts:
                web1:
                  ansible_host: 10.0.0.5
                  ansible_port: 2222
            """)
        try write("catalogue.tsv", "restart_unbound\tLOW\t-\tsystemctl restart unbound.service\t-\tyes\tRestart unbound.\n")
        try write(".env", """
            LINUX_MCP_INVENTORY=\(directory)/inventory.yml
            LINUX_MCP_KNOWN_HOSTS=\(directory)/keys/known_hosts
            LINUX_MCP_CATALOGUE=\(directory)/catalogue.tsv
            LINUX_MCP_READER_KEY=\(directory)/keys/mcp-reader
            LINUX_MCP_RUNNER_KEY=\(directory)/keys/pra-runner
            LINUX_MCP_SSH_AGENT=none
            """)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func load(_ environment: [String: String] = [:]) throws(ConfigurationError) -> LoadedConfiguration {
        try ConfigurationLoader.load(environment: environment, envFile: path(".env"))
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Loads, expecting one configuration error, and returns it.
    func expectError(_ environment: [String: String] = [:]) -> ConfigurationError? {
        do {
            _ = try load(environment)
            Issue.record("expected a configuration error")
            return nil
        } catch {
            return error
        }
    }
}

@Suite("Startup validation names the file, the field and the fix")
struct ConfigurationLoaderTests {
    @Test("A complete configuration loads")
    func validConfigurationLoads() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        let configuration = try fixture.load()
        #expect(configuration.inventory.hosts.map(\.name) == ["web1"])
        #expect(configuration.inventory.hosts[0].port == 2222)
        #expect(configuration.reader.user == "mcp-reader")
        #expect(configuration.runner.privateKeyPath == fixture.path("keys/pra-runner"))
        #expect(configuration.settings.agentSocket == nil)
        #expect(configuration.hostKeys.pinnedKeyTypes(address: "10.0.0.5", port: 2222) == [.ed25519])
    }

    @Test("A missing inventory file")
    func missingFile() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        let error = fixture.expectError(["LINUX_MCP_INVENTORY": fixture.path("nope.yml")])
        #expect(error?.kind == .missingFile)
        #expect(error?.file == fixture.path("nope.yml"))
        #expect(error?.field == "LINUX_MCP_INVENTORY")
        #expect(error?.description.contains("fix:") == true)
    }

    @Test("The catalogue: missing file and malformed line name the setting or line; its version is the file's SHA-256")
    func catalogue() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        let loaded = try fixture.load()
        #expect(loaded.catalogue.actions.map(\.name) == ["restart_unbound"])
        #expect(loaded.catalogue.version.hasPrefix("sha256:") && loaded.catalogue.version.count == 7 + 64)
        let missing = fixture.expectError(["LINUX_MCP_CATALOGUE": fixture.path("none.tsv")])
        #expect(missing?.kind == .missingFile && missing?.field == "LINUX_MCP_CATALOGUE")
        try fixture.write("catalogue.tsv", "# header\nrestart_unbound\tSEVERE\t-\tsystemctl restart unbound.service\t-\tyes\tRestart.\n")
        let malformed = fixture.expectError()
        #expect(malformed?.file == fixture.path("catalogue.tsv") && malformed?.line == 2)
        #expect(malformed?.description.contains("LOW, MEDIUM or HIGH") == true)
        try fixture.write("catalogue.tsv", "restart_unbound\tLOW\t-\tsystemctl restart unbound.service\t-\tyes\tRestart it.\n")
        #expect(try fixture.load().catalogue.version != loaded.catalogue.version)
    }

    @Test("A missing .env named explicitly")
    func missingEnvFile() {
        do {
            _ = try ConfigurationLoader.load(environment: [:], envFile: "/nonexistent/.env")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .missingFile)
            #expect(error.file == "/nonexistent/.env")
        }
    }

    @Test("An unknown setting in .env, with a suggestion")
    func unknownKeyInDotEnv() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try fixture.write(".env", (try String(contentsOfFile: fixture.path(".env"), encoding: .utf8)) + "\nLINUX_MCP_INVENTROY=x\n")
        let error = fixture.expectError()
        #expect(error?.kind == .unknownKey)
        #expect(error?.field == "LINUX_MCP_INVENTROY")
        #expect(error?.line == 7)
        #expect(error?.problem.contains("did you mean LINUX_MCP_INVENTORY?") == true)
    }

    @Test("An unknown setting in the environment")
    func unknownKeyInEnvironment() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        let error = fixture.expectError(["LINUX_MCP_COMAND_TIMEOUT_MS": "5"])
        #expect(error?.kind == .unknownKey)
        #expect(error?.file == "environment")
        #expect(error?.problem.contains("LINUX_MCP_COMMAND_TIMEOUT_MS") == true)
    }

    @Test("An unknown mcp_ variable in the inventory")
    func unknownInventoryVariable() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try fixture.write("inventory.yml", "all:\n  hosts:\n    web1:\n      mcp_allowed_service: [nginx.service]\n")
        let error = fixture.expectError()
        #expect(error?.kind == .unknownKey)
        #expect(error?.line == 4)
        #expect(error?.field == "web1: mcp_allowed_service")
        #expect(error?.problem.contains("mcp_allowed_services") == true)
    }

    @Test("A malformed .env line")
    func malformedDotEnvLine() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try fixture.write(".env", "LINUX_MCP_LOG_LEVEL=debug\nthis is not an assignment\n")
        let error = fixture.expectError()
        #expect(error?.kind == .malformedLine)
        #expect(error?.line == 2)
        #expect(error?.file == fixture.path(".env"))
    }

    @Test("A malformed known_hosts line")
    func malformedKnownHostsLine() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try fixture.write("keys/known_hosts", "# pins\n[10.0.0.5]:2222 ssh-ed25519\n")
        let error = fixture.expectError()
        #expect(error?.kind == .malformedLine)
        #expect(error?.line == 2)
        #expect(error?.file == fixture.path("keys/known_hosts"))
    }

    @Test("An RSA user key is refused with the reason")
    func rsaUserKey() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try FileManager.default.removeItem(atPath: fixture.path("keys/mcp-reader"))
        try FileManager.default.removeItem(atPath: fixture.path("keys/mcp-reader.pub"))
        let generated = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", fixture.path("keys/mcp-reader")])
        #expect(generated.status == 0)
        let error = fixture.expectError()
        #expect(error?.kind == .rsaKey)
        #expect(error?.field == "LINUX_MCP_READER_KEY")
        #expect(error?.problem.contains("SHA-1") == true)
        #expect(error?.fix.contains("ssh-keygen -t ed25519") == true)
    }

    @Test("An RSA host key pin is refused")
    func rsaHostKey() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        let generated = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", fixture.path("rsahost")])
        #expect(generated.status == 0)
        let pub = try String(contentsOfFile: fixture.path("rsahost.pub"), encoding: .utf8).split(separator: " ")
        try fixture.write("keys/known_hosts", "[10.0.0.5]:2222 \(pub[0]) \(pub[1])\n")
        let error = fixture.expectError()
        #expect(error?.kind == .rsaKey)
        #expect(error?.line == 1)
    }

    @Test("A private key readable by group or others is refused")
    func keyFilePermissions() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: fixture.path("keys/pra-runner"))
        let error = fixture.expectError()
        #expect(error?.kind == .insecurePermissions)
        #expect(error?.file == fixture.path("keys/pra-runner"))
        #expect(error?.fix == "chmod 600 \(fixture.path("keys/pra-runner"))")
    }

    @Test("A key another account keeps for a group (the install layout's root:mcp-linux-infra 0640) is read; group-writable is refused",
          .enabled(if: getuid() == 0, "chowns the key to another account: run the tests as root"))
    func groupKeptKey() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        let key = fixture.path("keys/pra-runner")
        #expect(chown(key, getpwnam("nobody")!.pointee.pw_uid, getpwnam("nobody")!.pointee.pw_gid) == 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: key)
        #expect(try fixture.load().runner.privateKeyPath == key)
        try FileManager.default.setAttributes([.posixPermissions: 0o660], ofItemAtPath: key)
        let error = fixture.expectError()
        #expect(error?.kind == .insecurePermissions)
        #expect(error?.problem == "the private key is writable by its group or readable by others (mode 660)")
        #expect(error?.fix == "chmod 640 \(key)")
    }

    @Test("A .pub that is not the private key's public half is refused")
    func mismatchedPublicKey() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try FileManager.default.removeItem(atPath: fixture.path("keys/mcp-reader.pub"))
        try FileManager.default.copyItem(atPath: fixture.path("keys/pra-runner.pub"), toPath: fixture.path("keys/mcp-reader.pub"))
        let error = fixture.expectError()
        #expect(error?.kind == .mismatch)
    }

    @Test("A value out of range names the setting and the range")
    func invalidValue() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        let error = fixture.expectError(["LINUX_MCP_MAX_CHANNELS_PER_SESSION": "11"])
        #expect(error?.kind == .invalidValue)
        #expect(error?.problem.contains("from 1 to 10") == true)
    }

    @Test("The environment wins over .env")
    func environmentWins() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        let configuration = try fixture.load(["LINUX_MCP_READER_USER": "someone-else"])
        #expect(configuration.reader.user == "someone-else")
    }

    @Test(".env.example lists exactly the settings, with their defaults")
    func envExampleMatchesDefinitions() throws {
        let text = try String(contentsOfFile: LoopbackTarget.repositoryRoot + "/.env.example", encoding: .utf8)
        let assignments = try DotEnvParser.parse(
            text.split(separator: "\n").map { $0.hasPrefix("# LINUX_MCP_") ? String($0.dropFirst(2)) : String($0) }
                .joined(separator: "\n"), source: ".env.example")
        #expect(assignments.map(\.key) == Settings.definitions.map(\.name))
        #expect(assignments.map(\.value) == Settings.definitions.map(\.defaultValue))
        for definition in Settings.definitions {
            #expect(text.contains(definition.meaning), "meaning of \(definition.name) missing from .env.example")
        }
    }
}

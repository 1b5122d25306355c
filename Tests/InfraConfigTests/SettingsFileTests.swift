import Foundation
import Glibc
import InfraConfig
import InfraDomain
import InfraTestSupport
import Testing

/// Which settings file is read, what its relative paths are relative to, and "not found" versus "permission
/// denied", on real files in a scratch folder.
@Suite("The settings file: which one is read, relative paths, not found versus permission denied")
struct SettingsFileTests {
    /// A fresh scratch folder (removed by the caller).
    static func scratch() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("--env-file (relative to the current directory), else ./.env, else the system file, else an error naming both")
    func whichFileIsRead() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let work = folder + "/work", etc = folder + "/etc/settings.env"
        try FileManager.default.createDirectory(atPath: folder + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)

        // Neither ./.env nor the system file: one error naming both places and the fix.
        do {
            _ = try ConfigurationLoader.settingsFile(explicit: nil, workingDirectory: work, systemPath: etc)
            Issue.record("no settings file was accepted")
        } catch {
            #expect(error.kind == .missingFile && error.problem.contains(work + "/.env") && error.problem.contains(etc), "\(error)")
            #expect(error.fix.contains("mcp-linux-infra setup") && error.fix.contains("--env-file"), "\(error)")
        }
        try "".write(toFile: etc, atomically: true, encoding: .utf8)
        #expect(try ConfigurationLoader.settingsFile(explicit: nil, workingDirectory: work, systemPath: etc) == etc)
        try "".write(toFile: work + "/.env", atomically: true, encoding: .utf8)
        #expect(try ConfigurationLoader.settingsFile(explicit: nil, workingDirectory: work, systemPath: etc) == work + "/.env")
        try "".write(toFile: folder + "/mine.env", atomically: true, encoding: .utf8)
        #expect(try ConfigurationLoader.settingsFile(explicit: "../mine.env", workingDirectory: work, systemPath: etc) == folder + "/mine.env")

        // An explicit file must exist, and its error names the resolved path.
        do {
            _ = try ConfigurationLoader.settingsFile(explicit: "gone/../missing.env", workingDirectory: work, systemPath: etc)
            Issue.record("a missing --env-file was accepted")
        } catch {
            #expect(error.kind == .missingFile && error.file == work + "/missing.env" && error.problem == "file not found", "\(error)")
        }
    }

    @Test("A ./.env someone else could have written is refused, not read: group- or other-writable, or another account's",
          .enabled(if: geteuid() == 0, "needs root: gives the file to another account (chown)"))
    func untrustedLocalFileIsRefused() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let local = folder + "/.env", etc = folder + "/settings.env"
        try "".write(toFile: local, atomically: true, encoding: .utf8)
        try "".write(toFile: etc, atomically: true, encoding: .utf8)
        #expect(chown(local, 0, 0) == 0 && chmod(local, 0o644) == 0)
        #expect(try ConfigurationLoader.settingsFile(explicit: nil, workingDirectory: folder, systemPath: etc) == local)
        // Group-writable through the owner's own user-private group (umask 002) is still read.
        #expect(chmod(local, 0o664) == 0)
        #expect(try ConfigurationLoader.settingsFile(explicit: nil, workingDirectory: folder, systemPath: etc) == local)
        for (uid, gid, mode): (uid_t, gid_t, mode_t) in [(0, 65534, 0o664), (0, 0, 0o646), (65534, 0, 0o644)] {
            #expect(chown(local, uid, gid) == 0 && chmod(local, mode) == 0)
            do {
                _ = try ConfigurationLoader.settingsFile(explicit: nil, workingDirectory: folder, systemPath: etc)
                Issue.record("./.env of \(uid):\(gid), mode \(String(mode, radix: 8)) was read")
            } catch {
                #expect(error.kind == .insecurePermissions && error.file == local && error.fix.contains("--env-file"), "\(error)")
                #expect(error.problem.contains(uid == 0 ? "writable by its group or others" : "not by root"), "\(error)")
            }
            // Named on purpose, the same file is read: the refusal is about the search, not the file.
            #expect(try ConfigurationLoader.settingsFile(explicit: ".env", workingDirectory: folder, systemPath: etc) == local)
        }
        // A link planted by another account is refused even when it points at root's file.
        #expect(unlink(local) == 0 && symlink(etc, local) == 0 && lchown(local, 65534, 65534) == 0)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.settingsFile(explicit: nil, workingDirectory: folder, systemPath: etc)
        }
    }

    @Test("The loader reads the system settings file when there is no ./.env (the path is a parameter)", .enabled(if: !FileManager.default.fileExists(atPath: ".env"), "the current directory holds a .env"))
    func loaderUsesSystemPath() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "LINUX_MCP_INVENTORY=hosts.yml\n".write(toFile: folder + "/settings.env", atomically: true, encoding: .utf8)
        let settings = try ConfigurationLoader.settings(environment: [:], envFile: nil, systemSettingsPath: folder + "/settings.env")
        #expect(settings.inventoryPath == folder + "/hosts.yml")
    }

    @Test("Relative paths resolve against the settings file's folder (defaults too); from the environment, against the current directory")
    func relativePaths() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try fixture.write(".env", """
            LINUX_MCP_INVENTORY=inventory.yml
            LINUX_MCP_KNOWN_HOSTS=./keys/../keys/known_hosts
            LINUX_MCP_CATALOGUE=catalogue.tsv
            LINUX_MCP_READER_KEY=keys/mcp-reader
            LINUX_MCP_SSH_AGENT=none
            LINUX_MCP_DB=state/state.sqlite3
            """)
        // The test's current directory is not the fixture's: a path relative to it would not be found.
        #expect(FileManager.default.currentDirectoryPath != fixture.directory)
        let loaded = try fixture.load()
        #expect(loaded.settings.inventoryPath == fixture.path("inventory.yml"))
        #expect(loaded.settings.knownHostsPath == fixture.path("keys/known_hosts"))
        #expect(loaded.reader.privateKeyPath == fixture.path("keys/mcp-reader"))
        // LINUX_MCP_RUNNER_KEY is not set: its default (keys/pra-runner) resolves against the file's folder too.
        #expect(loaded.runner.privateKeyPath == fixture.path("keys/pra-runner"))
        #expect(loaded.settings.databasePath == fixture.path("state/state.sqlite3"))
        #expect(loaded.settings.httpTokensPath == fixture.path("state/http-tokens"))

        let fromEnvironment = try ConfigurationLoader.settings(environment: ["LINUX_MCP_INVENTORY": "elsewhere/hosts.yml"], envFile: fixture.path(".env"))
        #expect(fromEnvironment.inventoryPath == FileManager.default.currentDirectoryPath + "/elsewhere/hosts.yml")
    }

    @Test("A file that is not there is 'file not found' naming the resolved path")
    func notFoundNamesTheResolvedPath() async throws {
        let fixture = try await ConfigFixture()
        defer { fixture.remove() }
        try fixture.write(".env", (try String(contentsOfFile: fixture.path(".env"), encoding: .utf8)) + "\nLINUX_MCP_CATALOGUE=system/../missing.tsv\n")
        let error = fixture.expectError()
        #expect(error?.kind == .missingFile && error?.file == fixture.path("missing.tsv") && error?.field == "LINUX_MCP_CATALOGUE", "\(String(describing: error))")
        #expect(error?.description.hasPrefix(fixture.path("missing.tsv") + ": LINUX_MCP_CATALOGUE: file not found") == true, "\(String(describing: error))")
    }

    @Test("Not root: a folder that cannot be entered and a file that cannot be read are 'permission denied' with the account and the fix",
          .enabled(if: getuid() != 0, "root reads every file: PermissionErrorTests covers this as a throwaway account"))
    func permissionDeniedInProcess() async throws {
        let fixture = try await ConfigFixture()
        defer {
            chmod(fixture.path("keys"), 0o755)
            fixture.remove()
        }
        #expect(chmod(fixture.path("keys"), 0o600) == 0)
        let behind = fixture.expectError()
        #expect(behind?.kind == .permissionDenied && behind?.file == fixture.path("keys/known_hosts"), "\(String(describing: behind))")
        #expect(behind?.problem.contains("account \(FileAccess.account) cannot enter the folder \(fixture.path("keys"))") == true, "\(String(describing: behind))")
        #expect(behind?.fix.contains("mcp-linux-infra setup --approver \(FileAccess.account)") == true)
        #expect(chmod(fixture.path("keys"), 0o755) == 0)
        #expect(chmod(fixture.path("inventory.yml"), 0o000) == 0)
        let unreadable = fixture.expectError()
        #expect(unreadable?.kind == .permissionDenied && unreadable?.problem.contains("cannot read it (mode 0000") == true, "\(String(describing: unreadable))")
    }

    @Test("FileAccess: absent, readable; ConfiguredPath folds . and ..")
    func findings() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "x".write(toFile: folder + "/file", atomically: true, encoding: .utf8)
        #expect(FileAccess.find(folder + "/file") == .readable)
        #expect(FileAccess.find(folder + "/none") == .absent)
        #expect(FileAccess.find(folder + "/file/below") == .absent)
        #expect(ConfiguredPath.resolve("a/./b/../c", against: "/etc/x") == "/etc/x/a/c")
        #expect(ConfiguredPath.resolve("/abs/p", against: "/etc/x") == "/abs/p")
        #expect(ConfiguredPath.resolve("p", against: nil) == "p")
    }
}

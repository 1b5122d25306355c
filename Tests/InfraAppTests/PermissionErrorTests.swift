import Foundation
import InfraTestSupport
import Testing

/// The real binary run as a throwaway Unix account (an approver who is not root) against files root made: every
/// file it cannot reach is "permission denied" with the resolved path, the account and the fix, and a state database
/// it cannot write is refused before SQLite creates anything.
@Suite("Permission errors name the path, the account and the fix (real binary as a throwaway account)",
       .enabled(if: LoopbackTarget.isRoot, Comment(rawValue: ThrowawayAccount.rootReason)))
struct PermissionErrorTests {
    /// A configuration in a fresh folder (0755, root's) for host web1 at a closed port: the inventory, known_hosts
    /// beside it (0644) and the state database in `state/`; the accounts' keys in `keys/` (0700). Returns the folder
    /// and the settings file.
    static func configuration(extra: [String: String] = [:]) async throws -> (folder: String, env: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("perm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let env = try await LocalServeConfiguration.make(in: folder, hosts: ["web1"], port: try LocalServeConfiguration.closedPort(),
                                                         extra: ["LINUX_MCP_KNOWN_HOSTS": folder + "/known_hosts"].merging(extra) { $1 })
        try FileManager.default.copyItem(atPath: folder + "/keys/known_hosts", toPath: folder + "/known_hosts")
        return (folder, env)
    }

    /// The names in `folder`, sorted (what `ls -A` shows).
    static func listing(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }

    /// `chmod MODE PATH` (the test's files are root's).
    static func chmod(_ mode: Int, _ path: String) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test("A file behind a folder the account cannot enter, the tokens file, an unreadable file, an unreadable settings file: permission denied, never 'not found'")
    func configurationFiles() async throws {
        let (folder, env) = try await Self.configuration(extra: ["LINUX_MCP_KNOWN_HOSTS": "keys/known_hosts"])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await ThrowawayAccount.with { account in
            let behind = try await account.run(productBinary(), ["actions", "list", "--env-file", env])
            #expect(behind.status == 2, "\(behind)")
            #expect(behind.stderr.contains("\(folder)/keys/known_hosts: LINUX_MCP_KNOWN_HOSTS: permission denied: account \(account.name) "
                                           + "cannot enter the folder \(folder)/keys (mode 0700, owner root:root)"), "\(behind.stderr)")
            #expect(behind.stderr.contains("fix: ask an operator to run `mcp-linux-infra setup --approver \(account.name)`, or let \(account.name) "
                                           + "enter \(folder)/keys (chmod o+x \(folder)/keys"), "\(behind.stderr)")
            #expect(!behind.stderr.contains("not found"), "\(behind.stderr)")

            // The HTTP tokens file, root's, in the state folder (0700).
            #expect(try await ProcessRunner.run(productBinary(), ["tokens", "add", "ci-bot", "--env-file", env]).status == 0)
            let tokens = try await account.run(productBinary(), ["tokens", "list", "--env-file", env])
            #expect(tokens.status != 0 && tokens.stderr.contains("\(folder)/state/http-tokens: LINUX_MCP_HTTP_TOKENS: permission denied: account "
                                                                  + "\(account.name) cannot enter the folder \(folder)/state"), "\(tokens)")

            try Self.chmod(0o600, folder + "/inventory.yml")
            let unreadable = try await account.run(productBinary(), ["actions", "list", "--env-file", env])
            #expect(unreadable.status == 2 && unreadable.stderr.contains("\(folder)/inventory.yml: LINUX_MCP_INVENTORY: permission denied: account "
                                                                          + "\(account.name) cannot read it (mode 0600, owner root:root)"), "\(unreadable)")

            try Self.chmod(0o600, env)
            let settings = try await account.run(productBinary(), ["actions", "list", "--env-file", env])
            #expect(settings.status == 2 && settings.stderr.contains("\(env): settings file: permission denied"), "\(settings)")
        }
    }

    @Test("Started in a folder the account cannot enter (sudo -u from root's home): no ./.env is looked for there, the search goes on to the installed settings file")
    func unreadableWorkingDirectory() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("perm-cwd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "LINUX_MCP_INVENTORY=nowhere.yml\n".write(toFile: folder + "/.env", atomically: true, encoding: .utf8)
        try await ThrowawayAccount.with { account in
            let outcome = try await account.run(productBinary(), ["actions", "list"], currentDirectory: folder)
            #expect(outcome.status == 2, "\(outcome)")
            #expect(!outcome.stderr.contains("permission denied"), "\(outcome.stderr)")
            if FileManager.default.fileExists(atPath: "/etc/mcp-linux-infra/settings.env") {
                // An installed machine: the installed file is read (whatever it then says to this account).
                #expect(!outcome.stderr.contains("no settings file"), "\(outcome.stderr)")
            } else {
                #expect(outcome.stderr.contains("no settings file: neither \(folder)/.env nor /etc/mcp-linux-infra/settings.env exists"),
                        "\(outcome.stderr)")
            }
        }
    }

    @Test("A database root made (0644) in a writable folder: an approver's writing and reading commands get the path, account and fix; no -wal/-shm appear")
    func readOnlyDatabase() async throws {
        let (folder, env) = try await Self.configuration()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made = try await ProcessRunner.run(productBinary(), ["actions", "list", "--env-file", env])
        #expect(made.status == 0, "\(made)")
        let state = folder + "/state", database = state + "/state.sqlite3"
        try Self.chmod(0o777, state)
        try Self.chmod(0o644, database)
        try "".write(toFile: folder + "/heads.log", atomically: true, encoding: .utf8)
        let before = try Self.listing(state)
        #expect(before.contains("state.sqlite3"))
        try await ThrowawayAccount.with { account in
            for command in [["actions", "reject", "00000000", "--reason", "not now"], ["actions", "list"]] {
                let refused = try await account.run(productBinary(), command + ["--env-file", env])
                #expect(refused.status == 2, "\(command): \(refused)")
                #expect(refused.stderr.contains("state database \(database): permission denied: account \(account.name) cannot read and write \(database) "
                                                + "(\(database): mode 0644, owner root:root); every command writes the file and creates its -wal and -shm files in its folder, "
                                                + "even to read; nothing was opened or created (LINUX_MCP_DB)"), "\(refused.stderr)")
                #expect(refused.stderr.contains("fix: ask an operator to run `mcp-linux-infra setup --approver \(account.name)`, or give a group "
                                                + "\(account.name) is in the folder and the file: chgrp GROUP \(state) \(database); chmod 2770 \(state); chmod 0660 \(database)"),
                        "\(refused.stderr)")
                #expect(!refused.stderr.contains("SQLite error"), "\(refused.stderr)")
                let after = try Self.listing(state)
                #expect(after == before, "\(command) left files: \(after)")
            }
            let verify = try await account.run(productBinary(), ["audit", "verify", "--witness", folder + "/heads.log", "--env-file", env])
            #expect(verify.status == 3 && verify.stdout.contains("audit verify: COULD NOT CHECK") && verify.stderr.contains("permission denied"), "\(verify)")
            #expect(try Self.listing(state) == before)
        }
    }

    @Test("A fresh database folder the account cannot write (or create): the same error naming that folder; nothing is created")
    func folderNotWritable() async throws {
        let (folder, env) = try await Self.configuration()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let closed = folder + "/closed"
        try FileManager.default.createDirectory(atPath: closed, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try await ThrowawayAccount.with { account in
            let fresh = try await account.run(productBinary(), ["actions", "list", "--env-file", env],
                                              environment: ["PATH": "/usr/bin:/bin", "LINUX_MCP_DB": closed + "/state.sqlite3"])
            #expect(fresh.status == 2 && fresh.stderr.contains("state database \(closed)/state.sqlite3: permission denied: account \(account.name) "
                                                               + "cannot write in the folder \(closed) (\(closed): mode 0755, owner root:root); every command writes"), "\(fresh)")
            let nested = try await account.run(productBinary(), ["actions", "list", "--env-file", env],
                                               environment: ["PATH": "/usr/bin:/bin", "LINUX_MCP_DB": closed + "/db/state.sqlite3"])
            #expect(nested.status == 2 && nested.stderr.contains("cannot create the folder \(closed)/db in \(closed) (\(closed): mode 0755, owner root:root)"),
                    "\(nested)")
            #expect(try Self.listing(closed).isEmpty)
        }
    }
}

import Foundation
import Glibc
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

/// `mcp-linux-infra setup` (the real binary) into a fresh temporary prefix, with an account, a group and
/// approvers of names of its own, removed after by those names.
@Suite("Install setup", .serialized,
       .enabled(if: getuid() == 0, "setup creates accounts and groups and sets owners: run the tests as root"))
struct InstallSetupTests {
    @Test("A fresh setup makes every path with its owner, group and mode, the settings, ed25519 keys and a migrated database")
    func freshSetup() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        let run = try await fixture.setup()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("created  group \(fixture.group)"))
        #expect(run.stdout.contains("created  user \(fixture.account)"))
        // The account is in the approvers' group: it opens the -wal/-shm files an approver's command made.
        #expect(run.stdout.contains("added    \(fixture.account) to \(fixture.group) (so the server opens the database files an approver's command made)"),
                "\(run.stdout)")
        let members = try await ProcessRunner.run("/usr/bin/id", ["-nG", "--", fixture.account])
        #expect(members.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.contains(fixture.group), "\(members)")
        #expect(run.stdout.contains("created  \(fixture.layout.databaseDirectory) (2770 \(fixture.account):\(fixture.group))"))
        #expect(run.stdout.contains("next steps:"))
        for item in fixture.items { try fixture.expectConforms(item) }

        let settings = try String(contentsOfFile: fixture.layout.settingsFile, encoding: .utf8)
        #expect(settings == fixture.layout.settingsText)
        #expect(settings.contains("LINUX_MCP_DB=\(fixture.prefix)/var/lib/mcp-linux-infra/db/state.sqlite3\n"))
        #expect(settings.contains("LINUX_MCP_CATALOGUE=\(SetupFixture.catalogue)\n"))
        #expect(try String(contentsOfFile: fixture.layout.knownHostsFile, encoding: .utf8).isEmpty)

        for name in InstallLayout.keyNames {
            let path = fixture.layout.keyFile(name)
            let listed = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-l", "-f", path + ".pub"])
            #expect(listed.stdout.hasSuffix("(ED25519)\n"), "\(listed.stdout)")
            let info = try OpenSSHPrivateKeyInfo.inspect(try String(contentsOfFile: path, encoding: .utf8))
            let published = try SSHPublicKey.parseLine(try String(contentsOfFile: path + ".pub", encoding: .utf8))
            #expect(info.publicKey.type == .ed25519 && info.publicKey.blob == published.blob && !info.isEncrypted,
                    "an ed25519 private key without a passphrase, the public half's")
        }

        let opened = try InfraComposition.openStore(sqlitePath: fixture.layout.databaseFile, url: nil, witness: nil)
        let status = opened.status()
        #expect(status.passed, "\(status.detail)")
        let migrations = status.detail.firstMatch(of: /\((\d+) migrations\)/).flatMap { Int($0.output.1) } ?? 0
        #expect(migrations >= 4, "\(status.detail)")
        #expect(!fixture.exists(fixture.layout.inventoryFile), "setup never writes the inventory")
    }

    @Test("A second run prints only ok lines and changes no file's mtime")
    func secondRunChangesNothing() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        #expect(try await fixture.setup().status == 0)
        // The database folder is left out: SQLite adds and removes its -wal and -shm files there on every open.
        let watched = fixture.items.map(\.path).filter { $0 != fixture.layout.databaseDirectory }
        let before = try watched.map(fixture.modificationTime)
        let again = try await fixture.setup()
        #expect(again.status == 0, "\(again.stderr)")
        let itemLines = again.stdout.components(separatedBy: "\n\nnext steps:")[0].split(separator: "\n")
        #expect(itemLines.count >= fixture.items.count + 2)
        for line in itemLines { #expect(line.hasPrefix("ok       "), "\(line)") }
        #expect(try watched.map(fixture.modificationTime) == before)
    }

    @Test("Wrong modes and owners are fixed and said so; an approver's -wal beside the database is taken over")
    func wrongModeFixed() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        #expect(try await fixture.setup().status == 0)
        let approver = try await fixture.makeUser()
        chmod(fixture.layout.settingsFile, 0o666)
        chmod(fixture.layout.databaseFile, 0o644)
        chmod(fixture.layout.keysDirectory, 0o755)
        chown(fixture.layout.keyFile("pra-runner"), 0, 0)
        let wal = fixture.layout.databaseFile + "-wal"
        #expect(FileManager.default.createFile(atPath: wal, contents: nil, attributes: [.posixPermissions: 0o644]))
        chown(wal, getpwnam(approver)!.pointee.pw_uid, getpwnam(approver)!.pointee.pw_gid)

        let run = try await fixture.setup()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("fixed    \(fixture.layout.settingsFile) (mode 0666 -> 0644)"))
        #expect(run.stdout.contains("fixed    \(fixture.layout.keysDirectory) (mode 0755 -> 0750)"))
        #expect(run.stdout.contains("fixed    \(fixture.layout.keyFile("pra-runner")) (owner root:root -> root:\(fixture.account))"))
        #expect(run.stdout.contains("fixed    \(fixture.layout.databaseFile) (mode 0644 -> 0660;"))
        #expect(run.stdout.contains("fixed    \(wal) (owner \(approver):"))
        for item in fixture.items { try fixture.expectConforms(item) }
        if fixture.exists(wal) { try fixture.expectConforms(fixture.layout.databaseItem(wal)) }
    }

    @Test("Keys: a missing public half is derived from the private one; a private half gone into the agent is not made again")
    func keyHalves() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        #expect(try await fixture.setup().status == 0)
        let reader = fixture.layout.keyFile("mcp-reader"), runner = fixture.layout.keyFile("pra-runner")
        let readerPublic = try String(contentsOfFile: reader + ".pub", encoding: .utf8)
        let runnerPublic = try String(contentsOfFile: runner + ".pub", encoding: .utf8)
        #expect(unlink(reader + ".pub") == 0 && unlink(runner) == 0)
        let run = try await fixture.setup()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("created  \(reader).pub (0644 root:\(fixture.account), derived from the private key)"))
        #expect(try String(contentsOfFile: reader + ".pub", encoding: .utf8) == readerPublic)
        #expect(run.stdout.contains("ok       \(runner) absent, its public half present"))
        #expect(!fixture.exists(runner))
        #expect(try String(contentsOfFile: runner + ".pub", encoding: .utf8) == runnerPublic)
        try fixture.expectConforms(fixture.layout.publicKeyItem("mcp-reader"))
    }

    @Test("--approver adds a real user to the group, and a second time says ok; an unknown user is refused before anything is made")
    func approvers() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        let refused = try await fixture.setup(["--approver", "\(fixture.group)-nobody"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("--approver \(fixture.group)-nobody: no such user on this machine"))
        #expect(getgrnam(fixture.group) == nil && !fixture.exists(fixture.layout.configDirectory), "nothing was made")

        let approver = try await fixture.makeUser()
        let first = try await fixture.setup(["--approver", approver])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("added    \(approver) to \(fixture.group)"))
        let groups = try await ProcessRunner.run("/usr/bin/id", ["-nG", "--", approver])
        #expect(groups.stdout.split(whereSeparator: \.isWhitespace).contains { $0 == fixture.group })
        let second = try await fixture.setup(["--approver", approver])
        #expect(second.stdout.contains("ok       \(approver) in \(fixture.group)"))
        #expect(!second.stdout.contains("added"))
    }

    @Test("Not root: refused, and nothing is made")
    func notRoot() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        let run = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", "nobody", "--", productBinary()] + fixture.setupArguments([]))
        #expect(run.status == 1)
        #expect(run.stderr.contains("setup must run as root"), "\(run.stderr)")
        #expect(!fixture.exists(fixture.layout.configDirectory))
    }

    @Test("A symbolic link planted where setup writes or chmods is refused, its target untouched (in the database folder it is removed); so is a folder owned by someone else")
    func plantedLinks() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        #expect(try await fixture.setup().status == 0)
        let victim = fixture.prefix + "/victim"
        #expect(FileManager.default.createFile(atPath: victim, contents: Data("secret\n".utf8), attributes: [.posixPermissions: 0o600]))
        for planted in [fixture.layout.settingsFile, fixture.layout.keyFile("mcp-reader"), fixture.layout.databaseDirectory] {
            let saved = planted + ".saved"
            #expect(rename(planted, saved) == 0 || !fixture.exists(planted))
            #expect(symlink(victim, planted) == 0)
            let run = try await fixture.setup()
            #expect(run.status == 1)
            #expect(run.stderr.contains("setup: refused: \(planted) is a symbolic link"), "\(run.stderr)")
            var info = stat()
            #expect(lstat(victim, &info) == 0 && info.st_mode & 0o7777 == 0o600 && info.st_uid == 0 && info.st_gid == 0)
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "secret\n")
            unlink(planted)
            if fixture.exists(saved) { rename(saved, planted) }
        }

        // In the database folder, which the approvers may write, a planted link does not stop setup (nor the
        // package's configuration): it is removed, never followed. A file of two names is left alone, with a warning.
        let shm = fixture.layout.databaseFile + "-shm"
        unlink(shm)
        #expect(symlink(victim, shm) == 0)
        let removed = try await fixture.setup()
        #expect(removed.status == 0, "\(removed)")
        #expect(removed.stdout.contains("removed  \(shm) (a link, which SQLite never makes: removed, not followed)"), "\(removed.stdout)")
        var shmInfo = stat()
        #expect(lstat(shm, &shmInfo) != 0 || shmInfo.st_mode & S_IFMT == S_IFREG, "SQLite's own -shm, if any, is a plain file")
        // A second name for the -shm file (the account's own, 0640: setup would make it 0660 were it a plain file).
        unlink(shm)
        let second = fixture.layout.databaseDirectory + "/second-name"
        #expect(FileManager.default.createFile(atPath: second, contents: Data(), attributes: [.posixPermissions: 0o640]))
        let account = getpwnam(fixture.account)!.pointee
        #expect(chown(second, account.pw_uid, account.pw_gid) == 0)
        #expect(link(second, shm) == 0)
        let kept = try await fixture.setup()
        #expect(kept.status == 0, "\(kept)")
        #expect(kept.stdout.contains("warning  \(shm) is not a plain file of one name"), "\(kept.stdout)")
        var secondInfo = stat()
        #expect(lstat(second, &secondInfo) == 0 && secondInfo.st_nlink == 2 && secondInfo.st_uid == account.pw_uid, "left in place, mode \(String(secondInfo.st_mode & 0o7777, radix: 8))")
        unlink(shm)
        unlink(second)
        var info = stat()
        #expect(lstat(victim, &info) == 0 && info.st_mode & 0o7777 == 0o600 && info.st_uid == 0 && info.st_gid == 0)

        let nobody = getpwnam("nobody")!.pointee
        chown(fixture.layout.keysDirectory, nobody.pw_uid, nobody.pw_gid)
        let run = try await fixture.setup()
        #expect(run.status == 1)
        #expect(run.stderr.contains("\(fixture.layout.keysDirectory) is owned by nobody, not root:"), "\(run.stderr)")
        #expect(fixture.owner(fixture.layout.keysDirectory) == nobody.pw_uid, "left as it was")
    }

    @Test("SQLite runs as the account: a database swapped for a link while setup works (an approver's race) makes no file as root")
    func databaseSwappedForALink() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        #expect(try await fixture.setup().status == 0)
        let rootOnly = fixture.prefix + "/root-only", target = rootOnly + "/made-by-setup.sqlite3"
        #expect(mkdir(rootOnly, 0o700) == 0)
        var swaps = 0
        for _ in 0..<5 {
            // The approver removes the database (they may write in its folder), so setup makes it again, and swaps it.
            for suffix in ["", "-wal", "-shm"] { unlink(fixture.layout.databaseFile + suffix) }
            let swapper = try LinkSwapper(folder: fixture.layout.databaseDirectory, name: "state.sqlite3", target: target)
            let run = try await fixture.setup()
            swapper.stop()
            if swapper.didSwap { swaps += 1 }
            #expect(!fixture.exists(target), "setup's SQLite followed the link as root and made \(target): \(run.stdout)")
        }
        #expect(swaps > 0, "the swap never happened: the test proved nothing")
    }

    @Test("An approver runs actions list with the settings and the database, and cannot read the keys; the account loads its keys")
    func approverAndAccount() async throws {
        let fixture = try await SetupFixture()
        defer { fixture.remove() }
        let approver = try await fixture.makeUser()
        #expect(try await fixture.setup(["--approver", approver]).status == 0)
        try "all:\n  hosts: {}\n".write(toFile: fixture.layout.inventoryFile, atomically: true, encoding: .utf8)
        chmod(fixture.layout.inventoryFile, 0o644)
        let binary = productBinary()
        // The settings' relative paths (inventory.yml, known_hosts, keys/) resolve in the settings file's folder.
        let folder = fixture.layout.configDirectory

        let listed = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", approver, "--", binary, "actions", "list", "--env-file", fixture.layout.settingsFile],
                                                 currentDirectory: folder)
        #expect(listed.status == 0, "\(listed.stdout)\(listed.stderr)")
        for side in fixture.layout.databaseSideFiles where fixture.exists(side) {
            #expect(fixture.mode(side) == 0o660 && fixture.groupID(side) == getgrnam(fixture.group)!.pointee.gr_gid,
                    "what SQLite leaves beside the database stays the group's")
        }

        for path in [fixture.layout.keysDirectory, fixture.layout.keyFile("mcp-reader")] {
            let read = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", approver, "--", "/bin/ls", "-l", "--", path])
            #expect(read.status != 0 && read.stderr.contains("Permission denied"), "\(read.stdout)\(read.stderr)")
        }

        let doctor = try await ProcessRunner.run("/usr/sbin/runuser", ["-u", fixture.account, "--", binary, "doctor", "--env-file", fixture.layout.settingsFile],
                                                 environment: ["PATH": "/usr/bin:/bin"], currentDirectory: folder)
        #expect(doctor.status == 0, "the account reads its keys (root:\(fixture.account) 0640) and the database: \(doctor.stdout)\(doctor.stderr)")
        #expect(doctor.stdout.contains("ok    store  sqlite \(fixture.layout.databaseFile)"), "\(doctor.stdout)")
    }
}

/// A temporary prefix with names of its own for the account, the approvers' group and throwaway users; `remove`
/// deletes them by those names.
final class SetupFixture {
    static let catalogue = LoopbackTarget.repositoryRoot + "/system/pra-catalogue.tsv"
    let prefix: String
    let account: String
    let group: String
    let layout: InstallLayout
    private var users: [String] = []
    private let tag: String

    init() async throws {
        tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        account = "mcpt-a\(tag)"
        group = "mcpt-g\(tag)"
        prefix = "/tmp/mcp-setup-\(tag)"
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        layout = try InstallLayout(prefix: prefix, account: account, approversGroup: group, catalogue: Self.catalogue)
    }

    /// Every item setup makes, with its owner, group and mode.
    var items: [InstallLayout.Item] {
        layout.directories + [layout.settingsItem, layout.knownHostsItem]
            + InstallLayout.keyNames.flatMap { [layout.privateKeyItem($0), layout.publicKeyItem($0)] }
            + [layout.databaseItem(layout.databaseFile)]
    }

    func setupArguments(_ extra: [String]) -> [String] {
        ["setup", "--prefix", prefix, "--account", account, "--approvers-group", group, "--catalogue", Self.catalogue] + extra
    }

    /// Runs `mcp-linux-infra setup` under the tests' account lock (shadow's own lock gives up under load).
    func setup(_ extra: [String] = []) async throws -> ProcessRunner.Outcome {
        try FileManager.default.createDirectory(atPath: "/run/mcp-infra-tests", withIntermediateDirectories: true)
        return try await ProcessRunner.run("/usr/bin/flock", ["-w", "300", "/run/mcp-infra-tests/.accounts.lock", productBinary()] + setupArguments(extra))
    }

    /// A throwaway user (no home, no login shell), removed with the fixture.
    func makeUser() async throws -> String {
        let name = "mcpt-u\(tag)\(users.count)"
        let made = try await AccountTools.run("useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", "--", name])
        guard made.status == 0 else { throw LoopbackTarget.TargetError(message: "useradd: \(made.stderr)") }
        users.append(name)
        return name
    }

    func expectConforms(_ item: InstallLayout.Item, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var info = stat()
        #expect(lstat(item.path, &info) == 0, "\(item.path) exists", sourceLocation: sourceLocation)
        let uid = item.owner == .root ? 0 : getpwnam(account)!.pointee.pw_uid
        let gid = switch item.group {
        case .root: gid_t(0)
        case .account: getgrnam(account)!.pointee.gr_gid
        case .approvers: getgrnam(group)!.pointee.gr_gid
        }
        #expect(info.st_uid == uid && info.st_gid == gid, "\(item.path) owner \(info.st_uid):\(info.st_gid)", sourceLocation: sourceLocation)
        #expect(UInt32(info.st_mode) & 0o7777 == item.mode, "\(item.path) mode \(String(UInt32(info.st_mode) & 0o7777, radix: 8))",
                sourceLocation: sourceLocation)
        #expect((info.st_mode & S_IFMT == S_IFDIR) == (item.kind == .directory), sourceLocation: sourceLocation)
    }

    func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    func mode(_ path: String) -> UInt32 {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt32(info.st_mode) & 0o7777 : 0
    }

    func owner(_ path: String) -> uid_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_uid : uid_t.max
    }

    func groupID(_ path: String) -> gid_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_gid : gid_t.max
    }

    func modificationTime(_ path: String) throws -> timespec {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw LoopbackTarget.TargetError(message: "\(path): \(String(cString: strerror(errno)))") }
        return info.st_mtim
    }

    /// Removes the prefix, the users, the account and both groups, by the names saved.
    func remove() {
        let names = users + [account]
        let groups = [account, group] + users
        let lock = ["-w", "300", "/run/mcp-infra-tests/.accounts.lock"]
        for name in names where getpwnam(name) != nil { _ = try? ChildProcess.runBlocking("/usr/bin/flock", lock + ["/usr/sbin/userdel", "--", name]) }
        for name in groups where getgrnam(name) != nil { _ = try? ChildProcess.runBlocking("/usr/bin/flock", lock + ["/usr/sbin/groupdel", "--", name]) }
        try? FileManager.default.removeItem(atPath: prefix)
    }
}

extension timespec: @retroactive Equatable {
    public static func == (lhs: timespec, rhs: timespec) -> Bool { lhs.tv_sec == rhs.tv_sec && lhs.tv_nsec == rhs.tv_nsec }
}

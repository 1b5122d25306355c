import Foundation
import Glibc
import InfraDomain

/// `mcp-linux-infra setup`: makes the install layout (docs/INSTALL.md) on this machine, as root: the approvers'
/// group and the server's system account, the configuration and state folders, the settings file, an empty
/// known_hosts, the two accounts' ed25519 keys, and the SQLite database (created and migrated through the
/// server's own store-opening code), each with its owner, group and mode; and adds approvers to the group.
/// Idempotent: it never overwrites the settings, the inventory or a key, fixes wrong owners and modes on what it
/// owns, and reports one line per item (`created`, `ok`, `fixed`, `added`), then the next steps.
public struct InstallSetup: Sendable {
    /// Why setup stopped; nothing after the item it names was changed.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String

        init(_ description: String) { self.description = description }
    }

    /// The layout to make.
    public let layout: InstallLayout
    /// Unix users to add to the approvers' group; each must exist.
    public let approvers: [String]
    /// Receives each line as it happens.
    let report: @Sendable (String) -> Void

    /// Setup of `layout`, adding `approvers`; `report` receives each line.
    public init(layout: InstallLayout, approvers: [String], report: @escaping @Sendable (String) -> Void) {
        self.layout = layout
        self.approvers = approvers
        self.report = report
    }

    /// Runs setup. Refused when not root, for an unknown approver, or when an item cannot be made safely (a
    /// symbolic link, a folder owned by someone else, a file with other hard links).
    public func run() throws(Refusal) {
        guard geteuid() == 0 else {
            throw Refusal("setup must run as root: it creates the account \(layout.account) and the group \(layout.approversGroup), "
                          + "and sets owners under \(layout.configDirectory) and \(layout.stateDirectory); run: sudo mcp-linux-infra setup")
        }
        for name in approvers where getpwnam(name) == nil {
            throw Refusal("--approver \(name): no such user on this machine: create the account first (adduser \(name)), or check the name")
        }
        let approversGID = try ensureGroup()
        let account = try ensureAccount()
        // The server opens the -wal and -shm files an approver's command made (theirs, the group's, 0660).
        try addApprover(layout.account, gid: approversGID, why: "so the server opens the database files an approver's command made")
        let files = LayoutFiles(account: account, approversGID: approversGID, accountName: layout.account, approversName: layout.approversGroup)

        for item in layout.directories {
            try files.createParents(of: item.path)
            try ensure(item, files) { () throws(Refusal) in try files.createDirectory(item) }
        }
        try ensure(layout.settingsItem, files) { () throws(Refusal) in try files.createFile(layout.settingsItem, contents: layout.settingsText) }
        try ensure(layout.knownHostsItem, files) { () throws(Refusal) in try files.createFile(layout.knownHostsItem, contents: "") }
        for name in InstallLayout.keyNames { try ensureKey(name, files) }
        try ensureDatabase(files)
        for name in approvers { try addApprover(name, gid: approversGID) }
        if !FileManager.default.fileExists(atPath: layout.catalogue) {
            report("warning  \(layout.catalogue) (LINUX_MCP_CATALOGUE) does not exist: install the package, which puts the catalogue there, "
                   + "or give --catalogue PATH (a checkout's system/pra-catalogue.tsv)")
        }
        report(nextSteps())
    }

    /// One line: the word padded to nine columns, then what it is about.
    private func line(_ word: String, _ text: String) {
        report(word.padding(toLength: max(9, word.count + 1), withPad: " ", startingAt: 0) + text)
    }

    /// Conforms an item, making it with `create` when absent; reports the line.
    private func ensure(_ item: InstallLayout.Item, _ files: LayoutFiles, create: () throws(Refusal) -> Void) throws(Refusal) {
        switch try files.conform(item) {
        case nil:
            try create()
            line("created", "\(item.path) (\(files.describe(item)))")
        case .created?:
            line("created", "\(item.path) (\(files.describe(item)))")
        case .ok?:
            line("ok", item.path)
        case .fixed(let changes)?:
            line("fixed", "\(item.path) (\(changes.joined(separator: ", ")))")
        }
    }

    /// Conforms an item that setup never makes (a side file of the database); says nothing when it is absent.
    /// The database folder is the approvers' to write: what one of them planted there must not stop setup (nor with
    /// it the package's configuration on every upgrade). A link is removed, never followed; anything else that is
    /// not a plain file of one name is left alone, with a warning.
    private func conformIfPresent(_ item: InstallLayout.Item, _ files: LayoutFiles) throws(Refusal) {
        var info = stat()
        guard lstat(item.path, &info) == 0 else { return }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            guard unlink(item.path) == 0 else { throw Refusal("\(item.path): a link, and it cannot be removed: \(LayoutFiles.errorText())") }
            line("removed", "\(item.path) (a link, which SQLite never makes: removed, not followed)")
            return
        case S_IFREG where info.st_nlink == 1:
            break
        default:
            line("warning", "\(item.path) is not a plain file of one name (someone who may write in the folder made it): left as it is; "
                 + "look at it, remove it while nothing has the database open, and run setup again")
            return
        }
        switch try files.conform(item, anyOwner: true) {
        case nil: break
        case .created?, .ok?: line("ok", item.path)
        case .fixed(let changes)?: line("fixed", "\(item.path) (\(changes.joined(separator: ", ")))")
        }
    }

    /// The approvers' group, made when missing; its gid.
    private func ensureGroup() throws(Refusal) -> gid_t {
        if let entry = getgrnam(layout.approversGroup) {
            line("ok", "group \(layout.approversGroup)")
            return entry.pointee.gr_gid
        }
        try runProgram("groupadd", ["--system", "--", layout.approversGroup])
        guard let entry = getgrnam(layout.approversGroup) else {
            throw Refusal("groupadd reported success but group \(layout.approversGroup) does not exist")
        }
        line("created", "group \(layout.approversGroup) (the approvers: they read the settings and write decisions into the database)")
        return entry.pointee.gr_gid
    }

    /// The server's system account and its group, made when missing; their ids.
    private func ensureAccount() throws(Refusal) -> (uid: uid_t, gid: gid_t) {
        if getpwnam(layout.account) == nil {
            // The group of the account's name, when it exists already, becomes its primary group.
            let group = getgrnam(layout.account) == nil ? ["--user-group"] : ["--gid", layout.account]
            try runProgram("useradd", ["--system", "--home-dir", layout.stateDirectory, "--no-create-home",
                                       "--shell", "/usr/sbin/nologin", "--comment", "mcp-linux-infra server"] + group + ["--", layout.account])
            line("created", "user \(layout.account) (system account, home \(layout.stateDirectory), shell /usr/sbin/nologin)")
        } else {
            line("ok", "user \(layout.account)")
        }
        guard let user = getpwnam(layout.account) else {
            throw Refusal("useradd reported success but user \(layout.account) does not exist")
        }
        guard let group = getgrnam(layout.account) else {
            throw Refusal("user \(layout.account) exists but no group \(layout.account): the keys are readable through that group; "
                          + "create it (groupadd --system \(layout.account); usermod -g \(layout.account) \(layout.account)) and run setup again")
        }
        return (user.pointee.pw_uid, group.pointee.gr_gid)
    }

    /// One account's key pair: made (ed25519, no passphrase) only when neither half exists; a missing public half
    /// is derived from the private one; a private half that is gone (loaded into the account's agent) is left so.
    private func ensureKey(_ name: String, _ files: LayoutFiles) throws(Refusal) {
        let privateItem = layout.privateKeyItem(name), publicItem = layout.publicKeyItem(name)
        let hasPrivate = files.exists(privateItem.path), hasPublic = files.exists(publicItem.path)
        if !hasPrivate && !hasPublic {
            try runProgram("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", privateItem.path])
            for item in [privateItem, publicItem] {
                guard case .some = try files.conform(item) else {
                    throw Refusal("ssh-keygen reported success but \(item.path) does not exist")
                }
                line("created", "\(item.path) (\(files.describe(item)))")
            }
            return
        }
        if hasPrivate {
            try ensure(privateItem, files) { () throws(Refusal) in }
        }
        if hasPrivate && !hasPublic {
            // Read here, not by ssh-keygen -y, which refuses a key of root's that its group may read (0640).
            guard let text = try? String(contentsOfFile: privateItem.path, encoding: .utf8),
                  let info = try? OpenSSHPrivateKeyInfo.inspect(text) else {
                throw Refusal("\(privateItem.path) is not an OpenSSH private key: move it away and run setup again (it makes a new pair)")
            }
            try files.createFile(publicItem, contents: info.publicKey.openSSHText + " " + name + "\n")
            line("created", "\(publicItem.path) (\(files.describe(publicItem)), derived from the private key)")
            return
        }
        try ensure(publicItem, files) { () throws(Refusal) in }
        if !hasPrivate {
            line("ok", "\(privateItem.path) absent, its public half present: the key is in the account's ssh-agent (docs/INSTALL.md)")
        }
    }

    /// The database: made empty with its owner, group and mode when absent, then created or migrated through the
    /// server's store-opening code; the files SQLite leaves beside it get the same owner, group and mode. A
    /// link at any of them is refused before SQLite opens anything (SQLite, run as root, would follow it).
    private func ensureDatabase(_ files: LayoutFiles) throws(Refusal) {
        let item = layout.databaseItem(layout.databaseFile)
        let sideItems = layout.databaseSideFiles.map(layout.databaseItem)
        let existing = try files.conform(item)
        if existing == nil { try files.createFile(item, contents: "") }
        let reported = sideItems.filter { files.exists($0.path) }.map(\.path)
        for side in sideItems { try conformIfPresent(side, files) }
        // Opened through the store only when it needs migrating: opening writes to it (GRDB's WAL probe). SQLite
        // opens by name and follows a link there: an approver, who may write in the folder, can swap the file for a
        // link after the checks above. So SQLite runs as the account, and may do no more than the server could.
        let schema = try asAccount(files.account) { () throws(Refusal) in
            existing != nil && InfraComposition.sqliteIsMigrated(path: item.path) ? "schema up to date" : try openAndMigrate()
        }
        guard case .some = try files.conform(item) else {
            throw Refusal("\(item.path) vanished while setup migrated it: someone with write access to its folder removed it; run setup again")
        }
        switch existing {
        case nil, .created?: line("created", "\(item.path) (\(files.describe(item)); \(schema))")
        case .ok?: line("ok", "\(item.path) (\(schema))")
        case .fixed(let changes)?: line("fixed", "\(item.path) (\(changes.joined(separator: ", ")); \(schema))")
        }
        // SQLite run as root gives its new files the database's owner and mode; one left by an approver before
        // this release (their own, mode 0644) was fixed above. Said once: before, when it was there already.
        for side in sideItems where !reported.contains(side.path) { try conformIfPresent(side, files) }
    }

    /// Runs `body` with the account's uid, gid and no other groups as the effective ones; root's are restored after.
    private func asAccount<T>(_ account: (uid: uid_t, gid: gid_t), _ body: () throws(Refusal) -> T) throws(Refusal) -> T {
        var saved = [gid_t](repeating: 0, count: Int(getgroups(0, nil)))
        guard getgroups(Int32(saved.count), &saved) == saved.count else { throw Refusal("getgroups: \(LayoutFiles.errorText())") }
        var accountGroups = [account.gid]
        guard setgroups(1, &accountGroups) == 0, setegid(account.gid) == 0, seteuid(account.uid) == 0 else {
            let reason = LayoutFiles.errorText()
            _ = seteuid(0); _ = setegid(0); _ = setgroups(saved.count, &saved)
            throw Refusal("cannot act as \(layout.account) to open the database: \(reason)")
        }
        let result: Result<T, Refusal>
        do throws(Refusal) { result = .success(try body()) } catch { result = .failure(error) }
        guard seteuid(0) == 0, setegid(0) == 0, setgroups(saved.count, &saved) == 0 else {
            fatalError("setup: cannot return to root after opening the database as \(layout.account): \(LayoutFiles.errorText())")
        }
        return try result.get()
    }

    /// Opens the database as the server does (creating the schema or migrating it), and closes it; the schema
    /// the store reports.
    private func openAndMigrate() throws(Refusal) -> String {
        let opened: OpenedStore
        do {
            opened = try InfraComposition.openStore(sqlitePath: layout.databaseFile, url: nil, witness: nil)
        } catch {
            throw Refusal("\(layout.databaseFile): \(error.description)")
        }
        let status = opened.status()
        guard status.passed else { throw Refusal(status.detail) }
        guard let range = status.detail.range(of: "schema ") else { return status.detail }
        return String(status.detail[range.lowerBound...])
    }

    /// Adds `name` to the approvers' group unless it is a member already.
    private func addApprover(_ name: String, gid: gid_t, why: String = "takes effect at their next login") throws(Refusal) {
        if isMember(name, gid: gid) {
            line("ok", "\(name) in \(layout.approversGroup)")
            return
        }
        try runProgram("usermod", ["--append", "--groups", layout.approversGroup, "--", name])
        line("added", "\(name) to \(layout.approversGroup) (\(why))")
    }

    private func isMember(_ user: String, gid: gid_t) -> Bool {
        if let entry = getpwnam(user), entry.pointee.pw_gid == gid { return true }
        guard let group = getgrgid(gid), var member = group.pointee.gr_mem else { return false }
        while let name = member.pointee {
            if String(cString: name) == user { return true }
            member += 1
        }
        return false
    }

    /// Runs a system program with an argument vector (never a shell); its stdout, or a refusal quoting its stderr.
    @discardableResult
    private func runProgram(_ program: String, _ arguments: [String]) throws(Refusal) -> String {
        let directories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        guard let executable = directories.map({ $0 + "/" + program }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Refusal("\(program) not found in \(directories.joined(separator: ", ")): install it (Debian: passwd, openssh-client)")
        }
        let outcome: ChildProcess.Outcome
        do {
            outcome = try ChildProcess.runBlocking(executable, arguments, environment: ["PATH": directories.joined(separator: ":"), "LC_ALL": "C"])
        } catch {
            throw Refusal("\(program): \(error)")
        }
        guard outcome.status == 0 else {
            let said = outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw Refusal("\(program) \(arguments.joined(separator: " ")) failed (exit \(outcome.status))\(said.isEmpty ? "" : ": \(said)")")
        }
        return outcome.stdout
    }

    /// What the operator does next.
    private func nextSteps() -> String {
        let envFile = layout.prefix == "/" ? "" : " --env-file \(layout.settingsFile)"
        var steps: [String] = []
        if !FileManager.default.fileExists(atPath: layout.inventoryFile) {
            steps.append("write the inventory (hosts, mcp_approvers): cp /usr/share/mcp-linux-infra/examples/inventory.example.yml \(layout.inventoryFile)")
        }
        steps.append("pin each host's key: ssh-keyscan -p PORT -t ed25519 HOST >> \(layout.knownHostsFile)")
        steps.append("deploy the hosts' side: ansible-playbook -i \(layout.inventoryFile) -e mcp_infra_keys_dir=\(layout.keysDirectory) "
                     + "/usr/share/mcp-linux-infra/ansible/playbooks/deploy-mcp-infra.yml")
        steps.append("check: sudo -u \(layout.account) mcp-linux-infra doctor\(envFile)")
        steps.append("run the server under its account, load its keys into its agent, add approvers: docs/INSTALL.md")
        return "\nnext steps:\n" + steps.enumerated().map { "  \($0.offset + 1). \($0.element)" }.joined(separator: "\n")
    }
}

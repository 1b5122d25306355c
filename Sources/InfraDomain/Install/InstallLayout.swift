/// The install layout (docs/INSTALL.md): every path the server, its account and the approvers use, under a
/// prefix, with the owner, group and mode each must have, and the settings file `mcp-linux-infra setup` writes.
/// The one description of it: `setup`, the tests and the docs' table follow this value. No I/O.
public struct InstallLayout: Sendable, Equatable {
    /// The folder every path is under: `/` on a real install, a private folder in tests and the demo.
    public let prefix: String
    /// The system account that runs the server (it owns the state folder and reads the keys through its group).
    public let account: String
    /// The group of the people who approve: they read the settings, the inventory and known_hosts, and write
    /// decisions into the database; they never read the keys.
    public let approversGroup: String
    /// The action catalogue the settings name (not under the prefix: the package's, or a checkout's).
    public let catalogue: String

    /// The server's account on a real install.
    public static let defaultAccount = "mcp-linux-infra"
    /// The approvers' group on a real install.
    public static let defaultApproversGroup = "mcp-approvers"
    /// The catalogue the package installs.
    public static let defaultCatalogue = "/usr/share/mcp-linux-infra/system/pra-catalogue.tsv"
    /// The two accounts' key files, by the name of the target account each logs in as.
    public static let keyNames = ["mcp-reader", "pra-runner"]

    /// Who owns an item: root, or the server's account; the group is root's, the account's or the approvers'.
    public enum Owner: Sendable, Equatable {
        case root
        case account
    }

    /// Which group an item has.
    public enum Group: Sendable, Equatable {
        case root
        case account
        case approvers
    }

    /// What an item is.
    public enum Kind: Sendable, Equatable {
        case directory
        case file
    }

    /// One path of the layout with the owner, group and mode it must have.
    public struct Item: Sendable, Equatable {
        /// The full path (prefix included).
        public let path: String
        public let kind: Kind
        public let owner: Owner
        public let group: Group
        /// The permission bits, setgid included (e.g. 0o2770).
        public let mode: UInt32
    }

    /// Why a layout cannot be made from the options given.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// A layout under `prefix` (an absolute path) for the named account and group, naming `catalogue`.
    /// Names must be valid Unix account names; the prefix and catalogue absolute paths.
    public init(prefix: String = "/", account: String = Self.defaultAccount, approversGroup: String = Self.defaultApproversGroup,
                catalogue: String = Self.defaultCatalogue) throws(Problem) {
        guard prefix.hasPrefix("/") else {
            throw Problem(description: "--prefix '\(prefix)' is not an absolute path: give the folder to install under, e.g. /")
        }
        guard catalogue.hasPrefix("/") else {
            throw Problem(description: "--catalogue '\(catalogue)' is not an absolute path: give the catalogue's full path, e.g. \(Self.defaultCatalogue)")
        }
        for (option, name) in [("--account", account), ("--approvers-group", approversGroup)] where !Self.isValidName(name) {
            throw Problem(description: "\(option) '\(name)' is not a valid account or group name: use 1 to 32 of a-z 0-9 _ -, starting with a letter or _")
        }
        guard account != approversGroup else {
            throw Problem(description: "--approvers-group '\(approversGroup)' is the account's own group: the approvers need a group of their own")
        }
        for path in [prefix, catalogue] where path.contains("\n") || path.contains("\0") {
            throw Problem(description: "a path holds a newline or NUL: give a plain path")
        }
        var trimmed = prefix
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.prefix = trimmed.isEmpty ? "/" : trimmed
        self.account = account
        self.approversGroup = approversGroup
        self.catalogue = catalogue
    }

    /// Whether `name` may name an account or a group: the portable subset useradd accepts.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...32).contains(name.utf8.count), let first = name.utf8.first else { return false }
        let lower = UInt8(ascii: "a")...UInt8(ascii: "z"), digit = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard lower.contains(first) || first == UInt8(ascii: "_") else { return false }
        return name.utf8.allSatisfy { lower.contains($0) || digit.contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// `path` (absolute, as on a real install) under the prefix.
    public func path(_ path: String) -> String {
        prefix == "/" ? path : prefix + path
    }

    /// The configuration folder of a real install (no prefix).
    public static let installedConfigDirectory = "/etc/mcp-linux-infra"
    /// The settings file of a real install (no prefix): what every command reads when no other is named.
    public static let installedSettingsFile = installedConfigDirectory + "/settings.env"

    /// The configuration folder.
    public var configDirectory: String { path(Self.installedConfigDirectory) }
    /// The settings file every command reads when no other is named.
    public var settingsFile: String { path(Self.installedSettingsFile) }
    /// The inventory (the operator writes it).
    public var inventoryFile: String { configDirectory + "/inventory.yml" }
    /// The pinned host keys.
    public var knownHostsFile: String { configDirectory + "/known_hosts" }
    /// The accounts' keys.
    public var keysDirectory: String { configDirectory + "/keys" }
    /// The private key file of the account `name` (one of ``keyNames``); its public half is this + `.pub`.
    public func keyFile(_ name: String) -> String { keysDirectory + "/" + name }
    /// The server's state folder, the account's home.
    public var stateDirectory: String { path("/var/lib/mcp-linux-infra") }
    /// The HTTP clients' token hashes (`tokens add`, run as the account, makes it).
    public var httpTokensFile: String { stateDirectory + "/http-tokens" }
    /// The shared SQLite database's folder (setgid: the files SQLite adds beside the database get its group).
    public var databaseDirectory: String { stateDirectory + "/db" }
    /// The SQLite state database.
    public var databaseFile: String { databaseDirectory + "/state.sqlite3" }
    /// The server account's ssh-agent socket (the agent unit of the package makes it; not under the prefix's control).
    public var agentSocket: String { path("/run/mcp-linux-infra/agent.sock") }
    /// The files SQLite leaves beside the database (write-ahead log and shared memory).
    public var databaseSideFiles: [String] { [databaseFile + "-wal", databaseFile + "-shm"] }

    /// The folders setup makes, parents first, with the owner, group and mode each must have.
    public var directories: [Item] {
        [
            Item(path: configDirectory, kind: .directory, owner: .root, group: .root, mode: 0o755),
            Item(path: keysDirectory, kind: .directory, owner: .root, group: .account, mode: 0o750),
            Item(path: stateDirectory, kind: .directory, owner: .account, group: .account, mode: 0o755),
            Item(path: databaseDirectory, kind: .directory, owner: .account, group: .approvers, mode: 0o2770),
        ]
    }

    /// The settings file (written only when missing).
    public var settingsItem: Item { Item(path: settingsFile, kind: .file, owner: .root, group: .root, mode: 0o644) }
    /// known_hosts (made empty when missing): approvers read it.
    public var knownHostsItem: Item { Item(path: knownHostsFile, kind: .file, owner: .root, group: .root, mode: 0o644) }
    /// The private key `name`: the account reads it through its group.
    public func privateKeyItem(_ name: String) -> Item {
        Item(path: keyFile(name), kind: .file, owner: .root, group: .account, mode: 0o640)
    }
    /// The public half of key `name`.
    public func publicKeyItem(_ name: String) -> Item {
        Item(path: keyFile(name) + ".pub", kind: .file, owner: .root, group: .account, mode: 0o644)
    }
    /// The database, and each file SQLite leaves beside it: the account's and the approvers'.
    public func databaseItem(_ path: String) -> Item {
        Item(path: path, kind: .file, owner: .account, group: .approvers, mode: 0o660)
    }

    /// The settings file's text. Paths inside the configuration folder are relative (they resolve against the
    /// settings file's folder); the others are absolute.
    public var settingsText: String {
        """
        # Written by mcp-linux-infra setup (docs/INSTALL.md); setup never overwrites it. Relative paths resolve
        # against this file's folder. Every LINUX_MCP_* setting and its default: /usr/share/mcp-linux-infra/examples/settings.env
        LINUX_MCP_INVENTORY=inventory.yml
        LINUX_MCP_KNOWN_HOSTS=known_hosts
        LINUX_MCP_CATALOGUE=\(catalogue)
        LINUX_MCP_READER_KEY=keys/mcp-reader
        LINUX_MCP_RUNNER_KEY=keys/pra-runner
        LINUX_MCP_DB=\(databaseFile)
        LINUX_MCP_HTTP_TOKENS=\(httpTokensFile)
        LINUX_MCP_SSH_AGENT=auto

        """
    }
}

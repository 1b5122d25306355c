import Foundation
import Glibc
import InfraDomain

/// Everything the server needs from disk and the environment, validated.
public struct LoadedConfiguration: Sendable {
    public var settings: Settings
    public var inventory: Inventory
    public var hostKeys: HostKeyVerifier
    public var reader: AccountCredentials
    public var runner: AccountCredentials
    /// The approved-action catalogue (LINUX_MCP_CATALOGUE).
    public var catalogue: ActionCatalogue
    /// SHA-256 (hex) of each target-side component of this release, by file name (see ``ComponentDrift``).
    public var releaseComponents: [String: String] = [:]

    /// The credentials of one account.
    public func credentials(for account: Account) -> AccountCredentials {
        account == .reader ? reader : runner
    }
}

/// The configuration without the accounts' keys: what the human side (review, approve, audit) reads.
public struct ReviewConfiguration: Sendable {
    public var settings: Settings
    public var inventory: Inventory
    public var hostKeys: HostKeyVerifier
    /// The approved-action catalogue (LINUX_MCP_CATALOGUE): not secret. A review shows what will run from it,
    /// never from a database row's copy; a tampered copy cannot match the catalogue version the targets run.
    public var catalogue: ActionCatalogue

    /// What decides whether a signed approval counts: each host's approvers and window maximum (inventory),
    /// its pinned keys (known_hosts), and the window a new statement gets (settings, at most the host's maximum).
    public var approvalContext: ApprovalContext {
        ApprovalContext(hosts: inventory.hosts,
                        pinnedHostKeys: Dictionary(inventory.hosts.map { ($0.name, hostKeys.pinnedFingerprints(address: $0.address, port: $0.port)) },
                                                   uniquingKeysWith: { first, _ in first }),
                        preferredWindow: Double(settings.approvalPolicy.approvalLifetime.components.seconds))
    }
}

extension LoadedConfiguration {
    /// The same configuration without the keys.
    public var review: ReviewConfiguration {
        ReviewConfiguration(settings: settings, inventory: inventory, hostKeys: hostKeys, catalogue: catalogue)
    }
}

/// Reads and validates the configuration at startup: `.env`, `LINUX_MCP_*` variables, the inventory,
/// the pinned host keys and both accounts' key files. The first problem found is thrown as a
/// ``ConfigurationError`` naming the file, the field and the fix; nothing is half-loaded.
public enum ConfigurationLoader {
    /// The settings file read when neither `--env-file`, `LINUX_MCP_ENV_FILE` nor `./.env` names one.
    public static let systemSettingsPath = InstallLayout.installedSettingsFile

    /// Loads the configuration.
    /// - Parameters:
    ///   - environment: the process environment (tests pass their own).
    ///   - envFile: an explicit settings file; see ``settingsFile(explicit:workingDirectory:systemPath:)`` for the rule.
    ///   - systemSettingsPath: the installed settings file (tests pass their own).
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            envFile: String? = nil, systemSettingsPath: String = systemSettingsPath) throws(ConfigurationError) -> LoadedConfiguration {
        let review = try self.review(environment: environment, envFile: envFile, systemSettingsPath: systemSettingsPath)
        let settings = review.settings
        return LoadedConfiguration(
            settings: settings,
            inventory: review.inventory,
            hostKeys: review.hostKeys,
            reader: try credentials(.reader, settings.reader, setting: "LINUX_MCP_READER_KEY", agent: settings.agentSocket),
            runner: try credentials(.runner, settings.runner, setting: "LINUX_MCP_RUNNER_KEY", agent: settings.agentSocket),
            catalogue: review.catalogue,
            releaseComponents: releaseComponents(beside: settings.cataloguePath, catalogue: review.catalogue))
    }

    /// What a reviewer's CLI needs (`actions`, `audit`): settings, inventory (the approvers), pinned host keys
    /// and the action catalogue, and never the accounts' keys, which an approver's machine does not hold.
    public static func review(environment: [String: String] = ProcessInfo.processInfo.environment,
                              envFile: String? = nil, systemSettingsPath: String = systemSettingsPath) throws(ConfigurationError) -> ReviewConfiguration {
        let settings = try self.settings(environment: environment, envFile: envFile, systemSettingsPath: systemSettingsPath)

        guard let inventoryText = try FileAccess.readIfPresent(settings.inventoryPath, field: "LINUX_MCP_INVENTORY") else {
            throw missing(settings.inventoryPath, field: "LINUX_MCP_INVENTORY",
                          fix: "create the Ansible YAML inventory there, or set LINUX_MCP_INVENTORY to its path")
        }
        let inventory = try InventoryParser.parse(inventoryText, source: settings.inventoryPath)

        guard let knownHostsText = try FileAccess.readIfPresent(settings.knownHostsPath, field: "LINUX_MCP_KNOWN_HOSTS") else {
            throw missing(settings.knownHostsPath, field: "LINUX_MCP_KNOWN_HOSTS",
                          fix: "pin each host's key: ssh-keyscan -p PORT -t ed25519 HOST >> \(settings.knownHostsPath)")
        }
        let knownHosts = try KnownHosts.parse(knownHostsText, source: settings.knownHostsPath)
        guard let catalogueText = try FileAccess.readIfPresent(settings.cataloguePath, field: "LINUX_MCP_CATALOGUE") else {
            throw missing(settings.cataloguePath, field: "LINUX_MCP_CATALOGUE",
                          fix: "point LINUX_MCP_CATALOGUE at system/pra-catalogue.tsv of this release (the file the role installs on the targets)")
        }
        return ReviewConfiguration(settings: settings, inventory: inventory,
                                   hostKeys: HostKeyVerifier(knownHosts: knownHosts, knownHostsPath: settings.knownHostsPath),
                                   catalogue: try ActionCatalogue.parse(catalogueText, source: settings.cataloguePath))
    }

    /// The SHA-256 of each target-side component of this release: the files beside the catalogue (the
    /// release's `system/` folder), and the catalogue itself. A file not there is left out (not compared).
    static func releaseComponents(beside cataloguePath: String, catalogue: ActionCatalogue) -> [String: String] {
        let folder = (cataloguePath as NSString).deletingLastPathComponent
        var hashes = ["pra-catalogue.tsv": String(catalogue.version.dropFirst("sha256:".count))]
        for name in ComponentDrift.components where name != "pra-catalogue.tsv" {
            let path = (folder.isEmpty ? "." : folder) + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            hashes[name] = ComponentDrift.sha256Hex([UInt8](data))
        }
        return hashes
    }

    /// Only the settings (for the human-side CLI: `actions` and `audit` need neither keys nor inventory). Relative
    /// paths resolve against the settings file's folder, those from the environment against the current directory.
    public static func settings(environment: [String: String] = ProcessInfo.processInfo.environment,
                                envFile: String? = nil, systemSettingsPath: String = systemSettingsPath) throws(ConfigurationError) -> Settings {
        let workingDirectory = FileManager.default.currentDirectoryPath
        let envPath = try settingsFile(explicit: envFile ?? environment["LINUX_MCP_ENV_FILE"], workingDirectory: workingDirectory,
                                       systemPath: systemSettingsPath)
        let text = try FileAccess.readIfPresent(envPath, field: "settings file") ?? ""
        let dotEnv = try DotEnvParser.parse(text, source: envPath)
        return try Settings.resolve(.init(environment: environment, dotEnv: dotEnv, dotEnvPath: envPath,
                                          settingsFolder: ConfiguredPath.folder(of: envPath), workingDirectory: workingDirectory))
    }

    /// Which settings file a command reads, as an absolute path; the one rule: `explicit` (`--env-file`, else
    /// `LINUX_MCP_ENV_FILE`; relative to the current directory), which must exist; else `./.env` when it exists;
    /// else `systemPath` (``systemSettingsPath``) when it exists; else an error naming both places it looked. A file
    /// this account cannot reach is a permission error, never skipped.
    public static func settingsFile(explicit: String?, workingDirectory: String, systemPath: String) throws(ConfigurationError) -> String {
        let setup = "run `mcp-linux-infra setup` as root (it writes \(systemPath)), or give --env-file FILE (or LINUX_MCP_ENV_FILE)"
        if let explicit {
            let path = ConfiguredPath.resolve(explicit, against: workingDirectory)
            switch FileAccess.find(path) {
            case .readable: return path
            case .denied(let folder): throw FileAccess.denied(path, field: "settings file", folder: folder)
            case .absent:
                throw missing(path, field: "settings file (--env-file or LINUX_MCP_ENV_FILE)",
                              fix: "create it (see .env.example), or point --env-file / LINUX_MCP_ENV_FILE at an existing file")
            }
        }
        let local = ConfiguredPath.resolve(".env", against: workingDirectory)
        for candidate in [local, systemPath] {
            switch FileAccess.find(candidate) {
            case .readable:
                if candidate == local { try refuseUntrusted(local) }
                return candidate
            // A working directory this account cannot look into (`sudo -u ACCOUNT` from root's home) holds no .env it
            // could use: the search goes on. A .env that is there but unreadable is an error, never skipped.
            case .denied(.some) where candidate == local: continue
            case .denied(let folder): throw FileAccess.denied(candidate, field: "settings file", folder: folder)
            case .absent: continue
            }
        }
        throw ConfigurationError(.missingFile, file: systemPath, field: "settings file",
                                 problem: "no settings file: neither \(local) nor \(systemPath) exists", fix: setup)
    }

    /// Refuses a `./.env` found by the search (not named with --env-file) that someone else could have written: one
    /// owned by neither this account nor root, or writable by others or by a group shared with others. The current folder may be anyone's
    /// (/tmp, a shared checkout), and the file chooses the database, the keys, the hosts and the catalogue.
    static func refuseUntrusted(_ path: String) throws(ConfigurationError) {
        var link = stat(), file = stat()
        guard lstat(path, &link) == 0, stat(path, &file) == 0 else { return }
        let trusted: (uid_t) -> Bool = { $0 == 0 || $0 == geteuid() }
        let owner = [link.st_uid, file.st_uid].first { !trusted($0) }
        // Group write counts only for a group other than the owner's own (a user-private group, as umask 002 makes).
        let writable = file.st_mode & 0o002 != 0 || (file.st_mode & 0o020 != 0 && !FileAccess.isPrivateGroup(file.st_gid, of: file.st_uid))
        guard owner != nil || writable else { return }
        let problem = owner.map { "it is owned by \(FileAccess.userName($0)), not by " + (geteuid() == 0 ? "root" : "\(FileAccess.account) or root") }
            ?? "it is writable by its group or others (mode \(String(format: "%04o", Int(file.st_mode & 0o7777))))"
        throw ConfigurationError(.insecurePermissions, file: path, field: "settings file (./.env)",
                                 problem: problem + ": not read, since whoever can write it would choose the database, keys and hosts",
                                 fix: "run from another folder (the installed settings file is read then), or name the file you trust "
                                     + "with --env-file / LINUX_MCP_ENV_FILE")
    }

    static func credentials(_ account: Account, _ config: Settings.AccountSettings, setting: String,
                            agent: String?) throws(ConfigurationError) -> AccountCredentials {
        let publicPath = config.publicKeyPath
        let keyFix = { (path: String, folder: String?) in
            "run this command as the server's account (the keys are its alone; `mcp-linux-infra setup` makes them so), or "
                + FileAccess.manualFix(path: path, folder: folder)
        }
        guard let publicText = try FileAccess.readIfPresent(publicPath, field: setting, fix: keyFix(publicPath, FileAccess.blockingFolder(of: publicPath))) else {
            throw missing(publicPath, field: setting,
                          fix: "put the account's public key there (ssh-keygen -t ed25519 -f \(config.privateKeyPath) creates both halves)")
        }
        let firstLine = publicText.split(separator: "\n").first.map(String.init) ?? ""
        let publicKey: SSHPublicKey
        do {
            publicKey = try SSHPublicKey.parseLine(firstLine)
        } catch {
            throw keyProblem(error, file: publicPath, field: setting)
        }

        var privatePath: String? = config.privateKeyPath
        let privateFix = keyFix(config.privateKeyPath, FileAccess.blockingFolder(of: config.privateKeyPath))
        let mode: Int?
        do {
            mode = try FileAccess.mode(config.privateKeyPath, field: setting)
        } catch {
            throw ConfigurationError(error.kind, file: error.file, field: error.field, problem: error.problem, fix: privateFix)
        }
        if let mode {
            // As OpenSSH: a key of your own must be yours alone; a key another account (root, in the install layout:
            // root:mcp-linux-infra 0640) keeps for a group may be read through that group, never written, never read by others.
            var status = stat()
            let own = stat(config.privateKeyPath, &status) != 0 || status.st_uid == geteuid()
            if mode & (own ? 0o077 : 0o037) != 0 {
                throw ConfigurationError(.insecurePermissions, file: config.privateKeyPath, field: setting,
                                         problem: own ? "the private key is readable by group or others (mode \(String(mode & 0o777, radix: 8)))"
                                             : "the private key is writable by its group or readable by others (mode \(String(mode & 0o777, radix: 8)))",
                                         fix: own ? "chmod 600 \(config.privateKeyPath)" : "chmod 640 \(config.privateKeyPath)")
            }
            guard let privateText = try FileAccess.readIfPresent(config.privateKeyPath, field: setting, fix: privateFix) else {
                throw missing(config.privateKeyPath, field: setting, fix: "put the private key there (mode 600)")
            }
            let info: OpenSSHPrivateKeyInfo
            do {
                info = try OpenSSHPrivateKeyInfo.inspect(privateText)
            } catch {
                switch error {
                case .rsa:
                    throw ConfigurationError(.rsaKey, file: config.privateKeyPath, field: setting,
                                             problem: SSHKeyType.rsaExplanation,
                                             fix: "create an ed25519 key: ssh-keygen -t ed25519 -f \(config.privateKeyPath)")
                case .unsupportedType(let name):
                    throw ConfigurationError(.unsupported, file: config.privateKeyPath, field: setting,
                                             problem: "key algorithm \(name) is not supported",
                                             fix: "use an ed25519 or ECDSA key")
                case .notOpenSSHFormat, .malformed:
                    throw ConfigurationError(.malformedLine, file: config.privateKeyPath, field: setting,
                                             problem: "not an OpenSSH private key",
                                             fix: "create it with ssh-keygen -t ed25519 -f \(config.privateKeyPath)")
                }
            }
            if info.publicKey.blob != publicKey.blob {
                throw ConfigurationError(.mismatch, file: publicPath, field: setting,
                                         problem: "this public key is not the public half of \(config.privateKeyPath)",
                                         fix: "regenerate it: ssh-keygen -y -f \(config.privateKeyPath) > \(publicPath)")
            }
            if info.isEncrypted && agent == nil {
                throw ConfigurationError(.unsupported, file: config.privateKeyPath, field: setting,
                                         problem: "the key is passphrase-protected and no ssh-agent is configured",
                                         fix: "load it into ssh-agent (ssh-add \(config.privateKeyPath)) and set SSH_AUTH_SOCK or LINUX_MCP_SSH_AGENT")
            }
            if info.isEncrypted { privatePath = nil }
        } else {
            guard agent != nil else {
                throw missing(config.privateKeyPath, field: setting,
                              fix: "put the private key there (mode 600), or load it into ssh-agent and set SSH_AUTH_SOCK")
            }
            privatePath = nil
        }
        return AccountCredentials(account: account, user: config.user, publicKey: publicKey, publicKeyPath: publicPath,
                                  privateKeyPath: privatePath, agentSocket: agent)
    }

    private static func keyProblem(_ error: SSHPublicKey.ParseProblem, file: String, field: String) -> ConfigurationError {
        switch error {
        case .rsa:
            return ConfigurationError(.rsaKey, file: file, field: field, problem: SSHKeyType.rsaExplanation,
                                      fix: "create an ed25519 key pair: ssh-keygen -t ed25519 -f KEYFILE")
        case .unsupportedType(let name):
            return ConfigurationError(.unsupported, file: file, field: field, problem: "key algorithm \(name) is not supported",
                                      fix: "use an ed25519 or ECDSA key")
        case .malformed(let why):
            return ConfigurationError(.malformedLine, file: file, line: 1, field: field, problem: why,
                                      fix: "the file must hold one OpenSSH public key line, as ssh-keygen writes it")
        }
    }

    private static func missing(_ path: String, field: String, fix: String) -> ConfigurationError {
        ConfigurationError(.missingFile, file: path, field: field, problem: "file not found", fix: fix)
    }
}

import Foundation
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
    /// Loads the configuration.
    /// - Parameters:
    ///   - environment: the process environment (tests pass their own).
    ///   - envFile: an explicit `.env` path, which must exist. Otherwise `LINUX_MCP_ENV_FILE`, which must
    ///     exist too, or `.env` in the current directory, which may be absent.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            envFile: String? = nil) throws(ConfigurationError) -> LoadedConfiguration {
        let review = try self.review(environment: environment, envFile: envFile)
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
                              envFile: String? = nil) throws(ConfigurationError) -> ReviewConfiguration {
        let settings = try self.settings(environment: environment, envFile: envFile)

        guard let inventoryText = try readIfPresent(settings.inventoryPath) else {
            throw missing(settings.inventoryPath, field: "LINUX_MCP_INVENTORY",
                          fix: "create the Ansible YAML inventory there, or set LINUX_MCP_INVENTORY to its path")
        }
        let inventory = try InventoryParser.parse(inventoryText, source: settings.inventoryPath)

        guard let knownHostsText = try readIfPresent(settings.knownHostsPath) else {
            throw missing(settings.knownHostsPath, field: "LINUX_MCP_KNOWN_HOSTS",
                          fix: "pin each host's key: ssh-keyscan -p PORT -t ed25519 HOST >> \(settings.knownHostsPath)")
        }
        let knownHosts = try KnownHosts.parse(knownHostsText, source: settings.knownHostsPath)
        guard let catalogueText = try readIfPresent(settings.cataloguePath) else {
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

    /// Only the settings (for the human-side CLI: `actions` and `audit` need neither keys nor inventory).
    public static func settings(environment: [String: String] = ProcessInfo.processInfo.environment,
                                envFile: String? = nil) throws(ConfigurationError) -> Settings {
        let explicit = envFile ?? environment["LINUX_MCP_ENV_FILE"]
        let envPath = explicit ?? ".env"
        var dotEnv: [DotEnvParser.Assignment] = []
        if let text = try readIfPresent(envPath) {
            dotEnv = try DotEnvParser.parse(text, source: envPath)
        } else if explicit != nil {
            throw missing(envPath, field: "env file", fix: "create it (see .env.example) or point --env-file / LINUX_MCP_ENV_FILE at an existing file")
        }
        return try Settings.resolve(.init(environment: environment, dotEnv: dotEnv, dotEnvPath: envPath))
    }

    static func credentials(_ account: Account, _ config: Settings.AccountSettings, setting: String,
                            agent: String?) throws(ConfigurationError) -> AccountCredentials {
        let publicPath = config.publicKeyPath
        guard let publicText = try readIfPresent(publicPath) else {
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
        if let (mode, owner) = try permissions(config.privateKeyPath) {
            // As OpenSSH: a key of your own must be yours alone; a key another account (root, in the install layout:
            // root:mcp-linux-infra 0640) keeps for a group may be read through that group, never written, never read by others.
            let own = owner == geteuid()
            if mode & (own ? 0o077 : 0o037) != 0 {
                throw ConfigurationError(.insecurePermissions, file: config.privateKeyPath, field: setting,
                                         problem: own ? "the private key is readable by group or others (mode \(String(mode & 0o777, radix: 8)))"
                                             : "the private key is writable by its group or readable by others (mode \(String(mode & 0o777, radix: 8)))",
                                         fix: own ? "chmod 600 \(config.privateKeyPath)" : "chmod 640 \(config.privateKeyPath)")
            }
            guard let privateText = try readIfPresent(config.privateKeyPath) else {
                throw missing(config.privateKeyPath, field: setting, fix: "make the key readable by this user")
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

    /// The file's text, or nil when it does not exist.
    static func readIfPresent(_ path: String) throws(ConfigurationError) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(.missingFile, file: path, field: "file", problem: "exists but cannot be read",
                                     fix: "check its permissions and ownership")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(.malformedLine, file: path, field: "file", problem: "not UTF-8 text",
                                     fix: "check that the path names the right file")
        }
        return text
    }

    /// The permission bits and the owner's uid of a file, or nil when it does not exist.
    static func permissions(_ path: String) throws(ConfigurationError) -> (mode: Int, owner: uid_t)? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = attributes[.posixPermissions] as? Int, let owner = attributes[.ownerAccountID] as? NSNumber else {
            throw ConfigurationError(.missingFile, file: path, field: "file", problem: "cannot read its attributes",
                                     fix: "check its permissions and ownership")
        }
        return (mode, owner.uint32Value)
    }
}

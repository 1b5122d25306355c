import Foundation
import InfraDomain

/// Signs approval statements with OpenSSH's own `ssh-keygen -Y sign`, so what `actions approve` produces
/// is exactly what `ssh-keygen -Y verify` and the targets accept. The key is the approver's: held in their
/// ssh-agent (the private half never leaves it), or a key file they name. The server never holds one.
public struct ApprovalSigner: Sendable {
    /// Where ssh-keygen and ssh-add are.
    public var sshKeygen: String
    public var sshAdd: String
    /// The environment they run with (SSH_AUTH_SOCK reaches the agent).
    public var environment: [String: String]

    /// A signer using the system's OpenSSH tools and this process's environment.
    public init(sshKeygen: String = "/usr/bin/ssh-keygen", sshAdd: String = "/usr/bin/ssh-add",
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.sshKeygen = sshKeygen
        self.sshAdd = sshAdd
        self.environment = environment
    }

    /// Why a statement could not be signed; each names the fix.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// The keys the ssh-agent holds (empty when there is no agent or it holds none).
    public func agentKeys() -> [SSHPublicKey] {
        guard environment["SSH_AUTH_SOCK"].map({ !$0.isEmpty }) == true,
              let listed = try? run(sshAdd, ["-L"]), listed.status == 0 else { return [] }
        return listed.stdout.split(separator: "\n").compactMap { try? SSHPublicKey.parseLine(String($0)) }
    }

    /// The public half of a key file: the file itself when it is a public key, else FILE.pub, else the
    /// public part every OpenSSH private key carries unencrypted.
    public static func publicKey(ofKeyFile path: String) throws(Problem) -> SSHPublicKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Problem(description: "--key \(path): cannot read it")
        }
        if let key = try? SSHPublicKey.parseLine(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return key }
        if let pub = try? String(contentsOfFile: path + ".pub", encoding: .utf8),
           let key = try? SSHPublicKey.parseLine(pub.trimmingCharacters(in: .whitespacesAndNewlines)) { return key }
        guard let info = try? OpenSSHPrivateKeyInfo.inspect(text) else {
            throw Problem(description: "--key \(path): neither an OpenSSH public nor private key (ed25519 or ECDSA; RSA is refused)")
        }
        return info.publicKey
    }

    /// Signs `statement` for the approval namespace with `keyFile` (a private key, or a public key whose
    /// private half is in the agent). Returns the armored signature.
    public func sign(_ statement: String, keyFile: String) throws(Problem) -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-approve-\(UUID().uuidString)").path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Problem(description: "cannot create a private temporary folder: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/statement"
        guard FileManager.default.createFile(atPath: file, contents: Data(statement.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Problem(description: "cannot write the statement to \(file)")
        }
        let outcome: (status: Int32, stdout: String, stderr: String)
        do {
            outcome = try run(sshKeygen, ["-q", "-Y", "sign", "-n", ApprovalStatement.namespace, "-f", keyFile, "--", file])
        } catch {
            throw Problem(description: "cannot run \(sshKeygen): \(error)")
        }
        guard outcome.status == 0, let signature = try? String(contentsOfFile: file + ".sig", encoding: .utf8) else {
            throw Problem(description: "ssh-keygen -Y sign failed (exit \(outcome.status)): "
                          + outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                          + " (is the key loaded in your ssh-agent, or readable without a passphrase prompt?)")
        }
        return signature
    }

    /// Signs with a key the agent holds: its public half goes to a temporary file for ssh-keygen.
    public func sign(_ statement: String, agentKey: SSHPublicKey) throws(Problem) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-approver-\(UUID().uuidString).pub").path
        guard FileManager.default.createFile(atPath: path, contents: Data((agentKey.openSSHText + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw Problem(description: "cannot write \(path)")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try sign(statement, keyFile: path)
    }

    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let outcome = try ChildProcess.runBlocking(executable, arguments, environment: environment)
        return (outcome.status, outcome.stdout, outcome.stderr)
    }
}

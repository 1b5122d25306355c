import CLibSSH2
import InfraDomain
import Logging

/// Proves who a freshly handshaken session is: with the configured key through ssh-agent when the agent
/// holds it, otherwise with the private key file.
///
/// Runs on the session's I/O thread, on a non-blocking session, as a state machine: ``step()`` goes as far
/// as it can and answers nil when libssh2 waits for the socket; the connection calls it again once the socket
/// is ready, and enforces the deadline and an abort. Only the agent identity whose public key is the
/// configured one is ever offered, so an agent holding many keys cannot exhaust sshd's MaxAuthTries.
final class SSHAuthenticator {
    /// How a session proved its identity (for tests and `doctor`).
    enum Method: String, Sendable { case none, agent, keyFile = "key-file" }

    /// The handshaken session to authenticate; owned by the connection.
    let session: OpaquePointer
    /// Who to authenticate as, with which key, and the agent to ask first.
    let credentials: AccountCredentials
    /// The inventory name of the host, for errors and logs.
    let hostName: String
    let logger: Logger

    private enum Phase {
        case start
        case agent(UnsafeMutablePointer<libssh2_agent_publickey>)
        case keyFile(String)
    }
    private var phase = Phase.start
    /// The agent connection while its identity is being offered; released by ``release()``.
    private var agent: OpaquePointer?

    /// An authenticator for `session`; nothing happens until ``step()``.
    init(session: OpaquePointer, credentials: AccountCredentials, hostName: String, logger: Logger) {
        self.session = session
        self.credentials = credentials
        self.hostName = hostName
        self.logger = logger
    }

    /// Advances authentication: the agent first when a socket is configured, then the key file. Returns the
    /// method that succeeded, nil while libssh2 waits for the socket; throws when neither could be used or
    /// the host refused.
    func step() throws(SSHError) -> Method? {
        while true {
            switch phase {
            case .start:
                if let socketPath = credentials.agentSocket {
                    switch connectAgent(socketPath: socketPath) {
                    case .success(let identity):
                        phase = .agent(identity)
                        continue
                    case .failure(let why):
                        release()
                        logger.notice("ssh-agent cannot be used; falling back to the key file",
                                      metadata: ["host": "\(hostName)", "user": "\(credentials.user)", "reason": "\(why.text)"])
                    }
                }
                guard let privateKeyPath = credentials.privateKeyPath else {
                    throw .authenticationFailed(host: hostName, user: credentials.user,
                                                reason: "the agent does not hold \(credentials.publicKeyPath) and there is no key file")
                }
                // libssh2 reads the key into this process's memory (hence the warning: an agent keeps it out).
                logger.warning("reduced security: private key read from a file into process memory; load it into ssh-agent instead",
                               metadata: ["host": "\(hostName)", "user": "\(credentials.user)", "key": "\(privateKeyPath)"])
                phase = .keyFile(privateKeyPath)
            case .agent(let identity):
                // A host that refuses the configured identity is an error, not a reason to fall back.
                let rc = libssh2_agent_userauth(agent, credentials.user, identity)
                if rc == LibSSH2.again { return nil }
                release()
                guard rc == 0 else {
                    throw .authenticationFailed(host: hostName, user: credentials.user,
                                                reason: "the host refused the agent identity: \(LibSSH2.lastError(session))")
                }
                return .agent
            case .keyFile(let privateKeyPath):
                let rc = cssh_userauth_publickey_fromfile(session, credentials.user, credentials.publicKeyPath, privateKeyPath)
                if rc == LibSSH2.again { return nil }
                if rc != 0 {
                    throw .authenticationFailed(host: hostName, user: credentials.user, reason: LibSSH2.lastError(session))
                }
                return .keyFile
            }
        }
    }

    /// Disconnects from the agent, if connected. The connection calls it before freeing the session.
    func release() {
        guard let agent else { return }
        libssh2_agent_disconnect(agent)
        libssh2_agent_free(agent)
        self.agent = nil
    }

    /// Why the agent cannot be used (the key file may).
    private struct AgentUnavailable: Error { let text: String }

    /// Connects to the agent (a local socket: quick) and finds the configured identity in it.
    private func connectAgent(socketPath: String) -> Result<UnsafeMutablePointer<libssh2_agent_publickey>, AgentUnavailable> {
        guard let agent = libssh2_agent_init(session) else { return .failure(.init(text: "libssh2_agent_init failed")) }
        self.agent = agent
        libssh2_agent_set_identity_path(agent, socketPath)
        guard libssh2_agent_connect(agent) == 0 else { return .failure(.init(text: "cannot connect to \(socketPath)")) }
        guard libssh2_agent_list_identities(agent) == 0 else { return .failure(.init(text: "cannot list agent identities")) }
        guard let identity = configuredIdentity(in: agent) else {
            return .failure(.init(text: "the agent does not hold \(credentials.publicKeyPath)"))
        }
        return .success(identity)
    }

    /// The agent's identity whose key blob equals the configured public key, if the agent holds it.
    private func configuredIdentity(in agent: OpaquePointer) -> UnsafeMutablePointer<libssh2_agent_publickey>? {
        let wanted = credentials.publicKey.blob
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
            guard libssh2_agent_get_identity(agent, &identity, previous) == 0, let identity else { return nil }
            let blob = [UInt8](UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len))
            if blob == wanted { return identity }
            previous = identity
        }
    }
}

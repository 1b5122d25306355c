import CLibSSH2
import InfraDomain
import Logging

/// Proves who a freshly handshaken session is: with the configured key through ssh-agent when the agent
/// holds it, otherwise with the private key file.
///
/// Runs on the session's own thread, on a non-blocking session: every call that answers "again" waits
/// through `waitForSocket`, which the connection supplies (it polls the socket, honours the deadline and
/// an abort). Only the agent identity whose public key is the configured one is ever offered, so an agent
/// holding many keys cannot exhaust sshd's MaxAuthTries.
struct SSHAuthenticator {
    /// How a session proved its identity (for tests and `doctor`).
    enum Method: String, Sendable { case none, agent, keyFile = "key-file" }

    /// The handshaken session to authenticate; owned by the connection.
    let session: OpaquePointer
    /// Who to authenticate as, with which key, and the agent to ask first.
    let credentials: AccountCredentials
    /// The inventory name of the host, for errors and logs.
    let hostName: String
    let logger: Logger
    /// Waits until the socket is ready in the direction libssh2 is blocked on; throws at the deadline or
    /// when the session is aborted.
    let waitForSocket: () throws(SSHError) -> Void

    /// Authenticates the session: the agent first when a socket is configured, then the key file.
    /// Returns the method that succeeded; throws when neither could be used or the host refused.
    func authenticate() throws(SSHError) -> Method {
        if let socketPath = credentials.agentSocket {
            switch try authenticateWithAgent(socketPath: socketPath) {
            case .authenticated:
                return .agent
            case .identityUnavailable(let why):
                logger.notice("ssh-agent cannot be used; falling back to the key file",
                              metadata: ["host": "\(hostName)", "user": "\(credentials.user)", "reason": "\(why)"])
            }
        }
        guard let privateKeyPath = credentials.privateKeyPath else {
            throw .authenticationFailed(host: hostName, user: credentials.user,
                                        reason: "the agent does not hold \(credentials.publicKeyPath) and there is no key file")
        }
        try authenticateWithKeyFile(privateKeyPath: privateKeyPath)
        return .keyFile
    }

    /// What asking the agent came to: success, or a reason the agent cannot be used (the key file may).
    private enum AgentOutcome { case authenticated, identityUnavailable(String) }

    /// Offers the agent identity whose public key is the configured one, and no other. A host that refuses
    /// that identity is an error, not a reason to fall back.
    private func authenticateWithAgent(socketPath: String) throws(SSHError) -> AgentOutcome {
        guard let agent = libssh2_agent_init(session) else { return .identityUnavailable("libssh2_agent_init failed") }
        defer {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
        }
        libssh2_agent_set_identity_path(agent, socketPath)
        guard libssh2_agent_connect(agent) == 0 else { return .identityUnavailable("cannot connect to \(socketPath)") }
        guard libssh2_agent_list_identities(agent) == 0 else { return .identityUnavailable("cannot list agent identities") }
        guard let identity = configuredIdentity(in: agent) else {
            return .identityUnavailable("the agent does not hold \(credentials.publicKeyPath)")
        }
        var rc: Int32
        repeat {
            rc = libssh2_agent_userauth(agent, credentials.user, identity)
            if rc == LibSSH2.again { try waitForSocket() }
        } while rc == LibSSH2.again
        guard rc == 0 else {
            throw .authenticationFailed(host: hostName, user: credentials.user,
                                        reason: "the host refused the agent identity: \(LibSSH2.lastError(session))")
        }
        return .authenticated
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

    /// Authenticates with the private key file, which libssh2 reads into this process's memory (hence the
    /// warning: an agent keeps the key out of the server).
    private func authenticateWithKeyFile(privateKeyPath: String) throws(SSHError) {
        logger.warning("reduced security: private key read from a file into process memory; load it into ssh-agent instead",
                       metadata: ["host": "\(hostName)", "user": "\(credentials.user)", "key": "\(privateKeyPath)"])
        var rc: Int32
        repeat {
            rc = cssh_userauth_publickey_fromfile(session, credentials.user, credentials.publicKeyPath, privateKeyPath)
            if rc == LibSSH2.again { try waitForSocket() }
        } while rc == LibSSH2.again
        if rc != 0 {
            throw .authenticationFailed(host: hostName, user: credentials.user, reason: LibSSH2.lastError(session))
        }
    }
}

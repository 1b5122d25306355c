import InfraConfig
import InfraDomain
import InfraSSH
import Logging

/// The remote-execution port over SSH: libssh2 sessions pooled per host and account (InfraSSH.SSHPool),
/// the host key pinned, each account's own key. The only place that knows the accounts' credentials.
struct SSHRemoteExec: RemoteExec {
    let pool: SSHPool
    let credentials: @Sendable (Account) -> AccountCredentials

    /// Opens no connection yet: the pool connects on first use.
    init(configuration: LoadedConfiguration, logger: Logger) {
        pool = SSHPool(options: SSHPoolOptions(settings: configuration.settings), verifier: configuration.hostKeys, logger: logger)
        credentials = { configuration.credentials(for: $0) }
    }

    func run(_ request: RemoteRequest) async throws -> ExecResult {
        do {
            return try await pool.execute(host: request.host, credentials: credentials(request.account), command: request.command,
                                          stdin: request.stdin, timeout: request.timeout)
        } catch let error as SSHError {
            throw RemoteFailure(error.description)
        }
    }

    func authenticationMethod(host: String, user: String) async -> String? {
        await pool.authenticationMethod(host: host, user: user)
    }

    func shutdown(within limit: Duration) async {
        await pool.shutdown(within: limit)
    }

    func load() async -> RemoteLoad {
        let load = await pool.load()
        return RemoteLoad(sessionsOpen: load.sessionsOpen, handshakesInFlight: load.handshakesInFlight)
    }
}

import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import InfraStoreSQLite
import Logging

// The store modules know nothing of the application: their types meet the application's ports here and in
// InfraComposition+Store.swift, the only places that name both.
extension SQLiteActionStore: ActionStore {}
extension SQLiteAuditLog: AuditSink {}

/// The one composition root: reads the configuration, opens the store and builds the use cases. The CLI,
/// the MCP server and any later front-end get everything from here, and name neither SQLite, SSH nor the
/// configuration files themselves.
public enum InfraComposition {
    /// Why the services could not be built. The adapters print it and exit with status 2.
    public enum Failure: Error, CustomStringConvertible {
        /// The configuration (.env, inventory, keys, catalogue) is wrong; the text names the field and the fix.
        case configuration(String)
        /// The state store cannot be used.
        case store(String)

        public var description: String {
            switch self {
            case .configuration(let text): "configuration error: \(text)"
            case .store(let text): text
            }
        }
    }

    /// The audit log alone (`audit tail`, `search`, `export`): needs only the settings.
    public static func auditLog(envFile: String?) throws(Failure) -> any AuditSink {
        let settings = try settings(envFile: envFile)
        return try openStore(settings).audit
    }

    /// The HTTP clients' tokens file (`tokens add|list|revoke`): needs only the settings.
    public static func clientTokens(envFile: String?) throws(Failure) -> ClientTokenFile {
        ClientTokenFile(path: try settings(envFile: envFile).httpTokensPath)
    }

    /// What a reviewer's CLI uses (`actions`, `audit verify`): no account key is read.
    public static func review(envFile: String?) throws(Failure) -> ReviewServices {
        let configuration: ReviewConfiguration
        do { configuration = try ConfigurationLoader.review(envFile: envFile) } catch { throw .configuration(error.description) }
        LogSetup.bootstrap(level: configuration.settings.logLevel)
        let opened = try openStore(configuration.settings)
        let store = opened.store, audit = opened.audit
        return ReviewServices(
            review: ActionReview(store: store, audit: audit, catalogue: configuration.catalogue, cataloguePath: configuration.settings.cataloguePath,
                                 inventory: configuration.inventory, approvalContext: configuration.approvalContext,
                                 policy: configuration.settings.approvalPolicy, knownHostsPath: configuration.settings.knownHostsPath),
            verification: AuditVerification(store: store, audit: audit, inventory: configuration.inventory),
            databasePath: opened.file)
    }

    /// Everything the server side uses (`serve`, `doctor`, `audit verify --hosts`): the accounts' keys too.
    public static func server(envFile: String?, logLabel: String) throws(Failure) -> ServerServices {
        try server(envFile: envFile, logLabel: logLabel, probes: .none)
    }

    /// Wrappers around the server's two ports, for bench/CallBench: what it times (each request to a host,
    /// each audit commit), with no cost to the server, which passes ``none``.
    package struct Probes: Sendable {
        /// Wraps the remote-execution port.
        package var remote: @Sendable (any RemoteExec) -> any RemoteExec
        /// Wraps the audit sink the recorder commits to.
        package var audit: @Sendable (any AuditSink) -> any AuditSink

        /// Probes from their two wrappers.
        package init(remote: @escaping @Sendable (any RemoteExec) -> any RemoteExec,
                     audit: @escaping @Sendable (any AuditSink) -> any AuditSink) {
            self.remote = remote
            self.audit = audit
        }

        /// The ports as they are.
        package static let none = Probes(remote: { $0 }, audit: { $0 })
    }

    /// The server's services with `probes` around the ports (bench/CallBench).
    package static func server(envFile: String?, logLabel: String, probes: Probes) throws(Failure) -> ServerServices {
        let configuration: LoadedConfiguration
        do { configuration = try ConfigurationLoader.load(envFile: envFile) } catch { throw .configuration(error.description) }
        LogSetup.bootstrap(level: configuration.settings.logLevel)
        let settings = configuration.settings
        // After the bootstrap: a logger made before it would write to stdout, the MCP transport.
        let logger = Logger(label: logLabel)
        let opened = try openStore(settings)
        let store = opened.store, audit = opened.audit
        let remote = probes.remote(SSHRemoteExec(configuration: configuration, logger: logger))
        let recorder = AuditRecorder(sink: probes.audit(audit))
        let user = OperatingSystemUser.current
        let users: @Sendable (Account) -> String = { configuration.credentials(for: $0).user }
        let exec = AuditedExec(remote: remote, recorder: recorder, actor: AuditActor.server(user), users: users,
                               defaultTimeout: settings.commandTimeout)
        let review = configuration.review
        return ServerServices(
            workflow: ActionWorkflow(store: store, exec: exec, catalogue: configuration.catalogue, inventory: configuration.inventory,
                                     releaseComponents: configuration.releaseComponents, approvalContext: review.approvalContext,
                                     policy: settings.approvalPolicy, user: user, runner: configuration.runner.user,
                                     executionLease: settings.executionLease),
            diagnostics: Diagnostics(exec: exec, inventory: configuration.inventory, width: settings.fanOutWidth,
                                     releaseComponents: configuration.releaseComponents),
            doctor: Doctor(hosts: configuration.inventory.hosts, remote: remote, users: users, timeout: settings.connectTimeout * 2,
                           release: configuration.releaseComponents),
            verification: AuditVerification(store: store, audit: audit, inventory: configuration.inventory),
            ledgers: HostLedgerReader(remote: remote),
            recorder: recorder, remote: remote,
            limits: .init(maxMessageBytes: settings.maxMessageBytes, shutdownGrace: settings.shutdownGrace),
            databasePath: opened.file, storeStatus: opened.status)
    }

    /// Ends the process in order, after every SSH pool was shut down: waits for the last SSH I/O thread and
    /// releases libssh2 (bounded), then exits with `status` (see docs/ARCHITECTURE.md).
    public static func endProcess(status: Int32) async -> Never {
        if await !SSHRuntime.finish(within: .seconds(2)) {
            FileHandle.standardError.write(Data("warning: \(SSHRuntime.liveIOThreads) SSH I/O thread(s) still closing; exiting without library cleanup\n".utf8))
        }
        SSHRuntime.endProcess(status: status)
    }

    static func settings(envFile: String?) throws(Failure) -> Settings {
        do {
            let settings = try ConfigurationLoader.settings(envFile: envFile)
            LogSetup.bootstrap(level: settings.logLevel)
            return settings
        } catch {
            throw .configuration(error.description)
        }
    }
}

/// The use cases of a reviewer's CLI.
public struct ReviewServices: Sendable {
    /// Read, sign, approve and reject.
    public let review: ActionReview
    /// `audit verify` without the hosts.
    public let verification: AuditVerification
    /// The SQLite state database's path (the witness in the journal is read for its owner); nil for PostgreSQL
    /// (the journal is read for this account).
    public let databasePath: String?
}

/// The use cases of the server side.
public struct ServerServices: Sendable {
    /// The AI's side of approved actions.
    public let workflow: ActionWorkflow
    /// The read-only diagnostics.
    public let diagnostics: Diagnostics
    /// Both accounts on every host.
    public let doctor: Doctor
    /// `audit verify`.
    public let verification: AuditVerification
    /// The hosts' ledgers, for `audit verify --hosts`.
    public let ledgers: HostLedgerReader
    /// Audit rows of the adapter's own events (tool calls, start, stop), group-committed.
    public let recorder: AuditRecorder
    let remote: any RemoteExec
    /// The server's limits.
    public let limits: Limits

    /// Start and stop records.
    public var lifecycle: ServerLifecycle { ServerLifecycle(workflow: workflow, recorder: recorder) }
    /// Where the adapters record their metrics (the process's metrics system unless a test sets its own).
    public var metrics = InfraMetrics.process
    /// How far the audit chain is verified for `/metrics`, kept across scrapes.
    let chainCheckpoint = AuditChainCheckpoint()
    /// The gauges `/metrics` computes when scraped.
    public var scrapeGauges: ScrapeGauges {
        ScrapeGauges(store: verification.store, audit: verification.audit, remote: remote, checkpoint: chainCheckpoint, metrics: metrics)
    }
    /// The SQLite state database's path; nil for PostgreSQL.
    public let databasePath: String?
    /// The doctor's line for the store (connection, schema, the login's privileges).
    public let storeStatus: @Sendable () -> StoreStatus

    /// What bounds the server.
    public struct Limits: Sendable {
        /// The largest MCP message accepted (LINUX_MCP_MAX_MESSAGE_BYTES).
        public var maxMessageBytes: Int
        /// How long a stop waits for running executions (LINUX_MCP_SHUTDOWN_GRACE_SECONDS).
        public var shutdownGrace: Duration

        /// Creates the limits.
        public init(maxMessageBytes: Int, shutdownGrace: Duration) {
            self.maxMessageBytes = maxMessageBytes
            self.shutdownGrace = shutdownGrace
        }
    }

    /// Services over any implementations of the ports (the composition root builds the real ones; tests
    /// pass in-memory ones).
    public init(workflow: ActionWorkflow, diagnostics: Diagnostics, doctor: Doctor, verification: AuditVerification, ledgers: HostLedgerReader,
                recorder: AuditRecorder, remote: any RemoteExec, limits: Limits, databasePath: String?,
                storeStatus: @escaping @Sendable () -> StoreStatus = { StoreStatus(passed: true, detail: "in memory") }) {
        self.workflow = workflow
        self.diagnostics = diagnostics
        self.doctor = doctor
        self.verification = verification
        self.ledgers = ledgers
        self.recorder = recorder
        self.remote = remote
        self.limits = limits
        self.databasePath = databasePath
        self.storeStatus = storeStatus
    }

    /// Closes every SSH connection, waiting at most `limit`.
    public func closeConnections(within limit: Duration = .seconds(2)) async {
        await remote.shutdown(within: limit)
    }
}

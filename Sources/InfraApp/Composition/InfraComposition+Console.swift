import InfraDomain
import InfraStorePostgres
import InfraStoreSQLite

extension InfraComposition {
    /// The review console's services, over the very store, audit log, configuration and SSH pool of `server`
    /// (one database connection, one audit chain, one recorder): what `serve --http` mounts at `/`.
    /// The settings are read again only for the paths that messages name (catalogue, known_hosts). On PostgreSQL
    /// with `LINUX_MCP_CONSOLE_DATABASE_URL`, the console's reviews (decisions) go through that login instead: the
    /// server's role may not write decisions.
    public static func console(server: ServerServices, envFile: String?) throws(Failure) -> ConsoleServices {
        let settings = try settings(envFile: envFile)
        let workflow = server.workflow
        var store = workflow.proposals.store, audit = server.verification.audit
        if let url = settings.consoleDatabaseURL {
            let witness = AuditHeadWitness(socketPath: settings.auditWitnessSocket)
            let database = try openPostgres(url, witness: { witness.send($0) })
            store = PostgresActionStore(database: database)
            audit = PostgresAuditLog(database: database)
        }
        let review = ActionReview(store: store, audit: audit, catalogue: workflow.catalogue,
                                  cataloguePath: settings.cataloguePath, inventory: workflow.inventory,
                                  approvalContext: workflow.approvalContext, policy: workflow.proposals.policy,
                                  knownHostsPath: settings.knownHostsPath, now: workflow.proposals.now)
        return ConsoleServices(review: review, audit: server.verification.audit, recorder: server.recorder, verification: server.verification,
                               ledgers: server.ledgers, diagnostics: server.diagnostics, inventory: workflow.inventory,
                               pinnedHostKeys: workflow.approvalContext.pinnedHostKeys, runner: workflow.runner,
                               chain: server.chainCheckpoint)
    }
}

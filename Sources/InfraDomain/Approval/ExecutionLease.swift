import Foundation

/// The lease by which a server holds a run it claimed, so that servers sharing one store (on several machines)
/// can tell a run whose server died from one still going: the claim writes a deadline (``ExecutionOwner/leaseUntil``),
/// the owner renews it while it waits for the host, and once it has passed any server marks the run INTERRUPTED
/// (``ProposalRules/interruption(of:because:now:)``), never re-running it. A PID on another machine cannot be
/// checked; a deadline can. The lease is written with the owner's clock and judged with the judge's: keep the
/// servers on NTP, since clock skew eats into it.
public enum ExecutionLease {
    /// Why a server holds that an EXECUTING run's owner is gone.
    public enum Abandonment: Sendable, Equatable {
        /// The owner did not renew its lease, which ran until this time.
        case leasePassed(Date)
        /// The owner is on this machine and its process is gone (or its PID now names another process).
        case processGone
    }

    /// The deadline a claim or a renewal at `now` writes.
    public static func deadline(from now: Date, lease: Duration) -> Date {
        now + ProposalRules.seconds(lease)
    }

    /// The renewal of `record`'s lease by `owner` at `now`: the same execution with a later deadline, and no
    /// transition and no audit row (renewals must not flood the log). Nil when the run is no longer EXECUTING or
    /// no longer this owner's (another server marked it INTERRUPTED): the owner then stops renewing.
    public static func renewal(of record: ProposalRecord, by owner: ExecutionOwner, lease: Duration, now: Date) -> ProposalChange? {
        guard record.state == .executing, var execution = record.execution, holds(execution.owner, as: owner) else { return nil }
        execution.owner.leaseUntil = deadline(from: now, lease: lease)
        return ProposalChange(execution: execution)
    }

    /// True when `stored` is the process `owner` (host, PID and start time; the deadline aside).
    public static func holds(_ stored: ExecutionOwner, as owner: ExecutionOwner) -> Bool {
        stored.host == owner.host && stored.pid == owner.pid && stored.start == owner.start
    }

    /// Whether the run `owner` holds is abandoned at `now`: its lease has passed, or (`processGone`, found by the
    /// caller from /proc, only ever true for an owner on the caller's own machine) its process is gone. A run
    /// claimed by a release that kept no lease (nil) is judged by its process alone, as that release did.
    public static func abandonment(of owner: ExecutionOwner, processGone: Bool, now: Date) -> Abandonment? {
        if let until = owner.leaseUntil, now > until { return .leasePassed(until) }
        return processGone ? .processGone : nil
    }

    /// What a server writes instead of the result when the host answered a run that is no longer EXECUTING
    /// (another server marked it INTERRUPTED: this one stalled past its lease, and ``ProposalRules/finish(of:outcome:executor:now:)``
    /// would be refused as the wrong state): the answer as an audit row (kind `execution`, outcome
    /// `result-after-interruption`), so it is not lost, and the refusal that tells the client what happened.
    /// The stored state stays as it is. Nil while the run is EXECUTING: the result is then written as usual.
    public static func lateResult(of record: ProposalRecord, outcome: ExecutionOutcome, executor: String,
                                  now: Date) -> (change: ProposalChange, refusal: Refusal)? {
        guard record.state != .executing else { return nil }
        let exit = outcome.exitCode.map(String.init) ?? "none"
        let row = AuditChain.Record(
            actor: executor, kind: "execution", host: record.host, action: record.action, proposalID: record.id,
            outcome: "result-after-interruption",
            detail: ["exit": exit, "verified": outcome.verified, "verification": outcome.verification, "state": record.state.rawValue,
                     "stdoutBytes": String(outcome.stdout.utf8.count), "stderrBytes": String(outcome.stderr.utf8.count)],
            at: AuditChain.timestamp(now))
        let refusal = Refusal(.wrongState, "the host answered \(record.id) (exit \(exit), verified \(outcome.verified)) after the action was "
                                           + "marked \(record.state.rawValue): this server did not renew its lease in time, so another "
                                           + "server took it for gone. The answer is in the audit log (outcome result-after-interruption); "
                                           + "the action stays \(record.state.rawValue) and is not run again. Check the host with the "
                                           + "read-only tools.")
        return (ProposalChange(audit: [row]), refusal)
    }
}

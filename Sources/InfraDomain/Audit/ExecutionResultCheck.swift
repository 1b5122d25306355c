import Foundation

/// The result of a run as the audit chain seals it, and the check that the execution row still says the same.
///
/// The execution table is state, written by the server's account (and on PostgreSQL its role may update it while a
/// run goes on): what makes its result evidence is the finish row in the chain. That row carries the exit code,
/// whether the probe verified it, the executor (the row's actor), the output sizes, and the SHA-256 of the output
/// as stored, so `audit verify` names an execution row rewritten after the fact (the output, the exit code, who ran it).
public enum ExecutionResultCheck {
    /// The finish row's detail fields for a result.
    public static func sealed(exit: Int?, verified: String, storedStdout: String, storedStderr: String, stdoutBytes: Int,
                              stderrBytes: Int) -> [String: String] {
        ["exit": exit.map(String.init) ?? "none", "verified": verified,
         "stdoutBytes": String(stdoutBytes), "stderrBytes": String(stderrBytes),
         "stdoutSha256": ComponentDrift.sha256Hex(Array(storedStdout.utf8)), "stderrSha256": ComponentDrift.sha256Hex(Array(storedStderr.utf8))]
    }

    /// Why the stored `execution` does not match the chain's finish row `row` (COMPLETED or FAILED), or nil when it does.
    /// Rows written before the output was hashed are checked on what they carry (exit, verified, executor, sizes).
    public static func problem(_ execution: ProposalRecord.Execution, finishRow row: AuditChain.Record) -> String? {
        let sealed = row.details
        var differs: [String] = []
        if let exit = sealed["exit"], exit != (execution.exitCode.map(String.init) ?? "none") { differs.append("exit code") }
        if let verified = sealed["verified"], verified != (execution.verified ?? "") { differs.append("verified") }
        if row.actor != execution.executor { differs.append("executor") }
        if execution.finishedAt == nil { differs.append("finish time (none stored)") }
        for (name, text) in [("stdout", execution.stdout ?? ""), ("stderr", execution.stderr ?? "")] {
            if let hash = sealed[name + "Sha256"] {
                if hash != ComponentDrift.sha256Hex(Array(text.utf8)) { differs.append(name) }
            } else if let bytes = sealed[name + "Bytes"].flatMap(Int.init) {
                // Before the hash: the stored text is the whole output, or its first 65,536 characters.
                let stored = text.utf8.count
                if stored != bytes && !(text.count == 65536 && stored < bytes) { differs.append(name + " size") }
            }
        }
        guard !differs.isEmpty else { return nil }
        return "its execution row differs from the result the audit chain sealed at row \(row.seq) (\(differs.joined(separator: ", "))): "
            + "the execution was rewritten after it finished"
    }

    /// Why the stored execution of an INTERRUPTED run is not what an interruption writes (finished, not checked, no
    /// exit code and no output: nobody knows the result), or nil. A "result" found there was written afterwards.
    public static func interruptedProblem(_ execution: ProposalRecord.Execution) -> String? {
        guard execution.exitCode != nil || !(execution.stdout ?? "").isEmpty || !(execution.stderr ?? "").isEmpty
                || execution.verified != "not-checked" || execution.finishedAt == nil else { return nil }
        return "it is INTERRUPTED, but its execution row holds a result (exit code, output or a verification): an interrupted run's "
            + "result is unknown, so that result was written afterwards"
    }
}

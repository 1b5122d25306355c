import InfraDomain


extension AuditVerification {
    /// Checks the log against the heads its witness recorded (read before the log, so every head read was
    /// committed before): each must still be a row with that hash. A cut tail names its first missing row;
    /// a rewritten row names itself. No readable witness is said plainly and is not a problem by itself.
    public func verifyWitness(_ reading: AuditWitnessReader.Reading, report: inout Report) throws {
        switch reading {
        case .none(let reason):
            report.witness = "witness: none readable (\(reason)): a cut tail after the last signed approval would not be detected"
        case .unreadable(let reason):
            report.witness = "witness: could not be read (\(reason))"
            report.unchecked.append("the witness: \(reason)")
        case .heads(let heads, let source):
            let records = try audit.records(AuditFilter())
            let check = AuditWitness.check(heads, against: records, source: source)
            report.problems += check.problems
            report.witness = "witness: \(check.headsChecked) head(s) from \(source) checked"
                + (check.problems.isEmpty ? ", every one is in the chain" : ", \(check.problems.count) problem(s)")
                + "; newest witnessed row \(check.newestWitnessed ?? 0) of \(records.last?.seq ?? 0)"
        }
    }
}

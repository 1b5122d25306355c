/// The exit codes of the target-side scripts (mcp-wrapper, pra-exec, pra-run), as their common script
/// (system/target-common.sh) defines them (`readonly EXIT_NAME=N`). The Swift side names a code only through
/// this table; a test reads the script's definitions and checks that both say the same.
public enum TargetExitCode: Int32, Sendable, CaseIterable {
    case refused = 64
    case unknownAction = 65
    case badParameter = 66
    case precondition = 67
    case actionFailed = 68
    case verifyFailed = 69
    case unavailable = 70
    case busy = 73
    case audit = 75
    case notPermitted = 77
    case unsigned = 80
    case approvalMalformed = 81
    case signatureInvalid = 82
    case otherRequest = 83
    case otherHost = 84
    case otherCatalogue = 85
    case outsideWindow = 86
    case tooFewApprovers = 87
    case replayed = 88
    case digestMismatch = 89
    /// mcp-wrapper: the command ran out of its time budget (timeout's own code, passed on).
    case timedOut = 124

    /// The codes pra-run returns after it wrote the ledger entry (the action started): precondition, run and
    /// verification failures, and success.
    public static let afterLedgerEntry: Set<Int> = [0, Int(precondition.rawValue), Int(actionFailed.rawValue), Int(verifyFailed.rawValue)]
}

import InfraDomain

/// One entry of a host's ledger (what its root side ran), as the reader verb `ledger` prints it:
/// `entry ID ran=… action=NAME param.NAME=VALUE… caller=… approvers=… keys=… digest=… head=SEQ:HASH|-`,
/// then `statement N BASE64` and `signature N BASE64` lines per approval.
public struct LedgerEntry: Sendable, Equatable {
    public var id: String
    /// The entry's `key=value` fields as written by pra-run.
    public var fields: [String: String]
    public var approvals: [SignedApproval]

    /// The action that ran (nil for an entry written before entries recorded it).
    public var action: String? { fields["action"] }

    /// The parameters it ran with.
    public var parameters: [String: String] {
        var parameters: [String: String] = [:]
        for (key, value) in fields where key.hasPrefix("param.") { parameters[String(key.dropFirst(6))] = value }
        return parameters
    }

    /// The audit head the server sent with the execution, if any.
    public var head: AuditChain.Anchor? { fields["head"].flatMap(AuditChain.Anchor.init) }

    /// The request as one line, for messages.
    public var describedRequest: String {
        ([action ?? "?"] + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }).joined(separator: " ")
    }

    /// Reads `entry ID FIELDS` lines, each followed by `statement N B64` and `signature N B64` pairs.
    public static func parse(_ text: String) -> [LedgerEntry] {
        var entries: [LedgerEntry] = []
        var pendingStatement: String?
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            switch words.first {
            case "entry" where words.count >= 2:
                var fields: [String: String] = [:]
                for field in (words.count > 2 ? words[2] : "").split(separator: " ") {
                    guard let equals = field.firstIndex(of: "=") else { continue }
                    fields[String(field[..<equals])] = String(field[field.index(after: equals)...])
                }
                entries.append(LedgerEntry(id: words[1], fields: fields, approvals: []))
                pendingStatement = nil
            case "statement" where words.count == 3:
                pendingStatement = words[2]
            case "signature" where words.count == 3 && !entries.isEmpty:
                if let statement = pendingStatement, let signed = SignedApproval.parse(statementBase64: statement, signatureBase64: words[2]) {
                    entries[entries.count - 1].approvals.append(signed)
                }
                pendingStatement = nil
            default:
                continue
            }
        }
        return entries
    }
}

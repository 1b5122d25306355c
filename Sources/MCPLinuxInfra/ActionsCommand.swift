import ArgumentParser
import Foundation
import InfraDomain
import InfraStore

/// `actions`: the human side of approved actions. The approver is the operating-system user running this
/// command (never a name typed in); the MCP server has no way to reach these commands.
struct ActionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions",
        abstract: "Review, approve or reject the actions an AI proposed (you are identified by your OS account).",
        subcommands: [List.self, Show.self, Approve.self, Reject.self])

    /// `actions list`
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pending actions (PROPOSED, APPROVED); --all for every action.")
        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Every action, whatever its state.") var all = false

        func run() throws {
            let store = try ActionsCommand.store(options)
            let records = try store.list(states: all ? [] : [.proposed, .approved])
            if records.isEmpty { print(all ? "no actions" : "no pending actions"); return }
            print("ID        STATE        IMPACT  APPROVALS  HOST              ACTION                 PROPOSED (UTC)")
            for record in records {
                print([String(record.id.prefix(8)), pad(record.state.rawValue, 12), pad(record.impact, 7),
                       pad("\(record.approvals)/\(record.requiredApprovals)", 10), pad(record.host, 17), pad(record.action, 22),
                       utc(record.createdAt)].joined(separator: " "))
            }
        }
    }

    /// `actions show ID`
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Everything about one action: rationale, digest, the exact command and host.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The action id, or a unique prefix of at least 4 characters.") var id: String

        func run() throws {
            let store = try ActionsCommand.store(options)
            try ActionsCommand.refusing { print(ActionsCommand.describe(try store.proposal(id))) }
        }
    }

    /// `actions approve ID`
    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve an action as yourself (HIGH impact needs --reason and more than one approver).")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The action id, or a unique prefix of at least 4 characters.") var id: String
        @Option(help: "Why you approve (required for HIGH impact).") var reason: String?
        @Option(help: "The digest `actions show` printed; approval is refused if the action's digest differs.") var digest: String?

        func run() throws {
            let store = try ActionsCommand.store(options)
            let approver = OperatingSystemUser.current
            try ActionsCommand.refusing {
                let record = try store.approve(id, approver: approver, reason: reason, expectedDigest: digest)
                print("approved by \(approver): \(record.approvals) of \(record.requiredApprovals) approvals; the action is now \(record.state.rawValue)")
                if record.state == .approved, let expires = record.approvalExpiresAt {
                    print("it may be executed once until \(utc(expires)) UTC")
                }
            }
        }
    }

    /// `actions reject ID --reason`
    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject an action as yourself (a reason is required).")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The action id, or a unique prefix of at least 4 characters.") var id: String
        @Option(help: "Why you reject it (required; the AI reads it).") var reason: String?

        func run() throws {
            let store = try ActionsCommand.store(options)
            let approver = OperatingSystemUser.current
            try ActionsCommand.refusing {
                let record = try store.reject(id, approver: approver, reason: reason)
                print("rejected by \(approver); the action is now \(record.state.rawValue)")
            }
        }
    }

    static func store(_ options: ConfigurationOptions) throws -> ProposalStore {
        let settings = try options.loadSettings()
        return ProposalStore(database: try openDatabase(settings), policy: settings.approvalPolicy)
    }

    /// Runs `body`; a refusal is printed on stderr and exits with status 1.
    static func refusing(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("refused: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The review text of one action.
    static func describe(_ record: ProposalRecord) -> String {
        var lines = [
            "id:            \(record.id)",
            "state:         \(record.state.rawValue)",
            "action:        \(record.action)  (impact \(record.impact))",
            "host:          \(record.host)",
            "parameters:    \(record.parameters.isEmpty ? "none" : record.parameters.keys.sorted().map { "\($0)=\(record.parameters[$0]!)" }.joined(separator: " "))",
            "will run:      \(record.command.joined(separator: " "))",
            "               as root on \(record.host), through pra-runner, pra-exec and sudo pra-run \(record.action)",
            "verification:  \(record.verification.isEmpty ? "none" : record.verification.joined(separator: " "))",
            "proposed by:   \(record.proposer) (MCP server account; client \(record.client)) at \(utc(record.createdAt)) UTC",
            // The AI wrote the rationale: its extra lines are marked, so none can pass for a field of this review.
            "rationale:     \(record.rationale.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n             | "))",
            "digest:        \(record.digest)",
            "catalogue:     \(record.catalogueVersion)",
            "approvals:     \(record.approvals) of \(record.requiredApprovals) (pending expiry \(utc(record.expiresAt)) UTC)",
        ]
        for decision in record.decisions {
            lines.append("  \(decision.approves ? "approved" : "rejected") by \(decision.approver) at \(utc(decision.at)) UTC"
                         + (decision.reason.isEmpty ? "" : ": " + decision.reason.replacingOccurrences(of: "\n", with: " | ")))
        }
        if let expires = record.approvalExpiresAt { lines.append("approval valid until \(utc(expires)) UTC") }
        if let run = record.execution {
            lines.append("execution:     exit \(run.exitCode.map(String.init) ?? "-"), verified \(run.verified ?? "-")")
            if let check = run.verification, !check.isEmpty { lines.append("               \(check)") }
        }
        lines.append("history:")
        for step in record.transitions {
            lines.append("  \(utc(step.at))  \(step.from?.rawValue ?? "-") -> \(step.to.rawValue)  by \(step.actor): "
                         + step.reason.replacingOccurrences(of: "\n", with: " | "))
        }
        return lines.joined(separator: "\n")
    }
}

func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }

func utc(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return formatter.string(from: date)
}

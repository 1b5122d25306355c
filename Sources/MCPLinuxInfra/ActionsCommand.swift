import ArgumentParser
import Foundation
import InfraApp
import InfraDomain

/// `actions`: the human side of approved actions. An approval is a statement signed with the approver's
/// own SSH key (ssh-agent, a key file, or a signature made elsewhere); the principal comes from the
/// verified signature, and the OS account running this command is recorded beside it. The MCP server
/// has no way to reach these commands and holds no approver key.
struct ActionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions",
        abstract: "Review, approve (with your SSH key) or reject the actions an AI proposed.",
        subcommands: [List.self, Show.self, Statement.self, Approve.self, Reject.self])

    /// `actions list`
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pending actions (PROPOSED, APPROVED); --all for every action.")
        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Every action, whatever its state.") var all = false

        func run() throws {
            let review = try options.review().review
            let records = try ActionsCommand.refusing { try review.list(states: all ? [] : [.proposed, .approved]).map(\.record) }
            if records.isEmpty { print(all ? "no actions" : "no pending actions"); return }
            print("ID        STATE        IMPACT  APPROVALS  HOST              ACTION                 PROPOSED (UTC)")
            for record in records {
                print([TerminalText.escaped(String(record.id.prefix(8))), pad(record.state.rawValue, 12), pad(TerminalText.escaped(record.impact), 7),
                       pad("\(record.approvals)/\(record.requiredApprovals)", 10), pad(TerminalText.escaped(record.host), 17),
                       pad(TerminalText.escaped(record.action), 22), utc(record.createdAt)].joined(separator: " "))
            }
        }
    }

    /// `actions show ID`
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Everything about one action: what will run (from the catalogue), the recomputed digest, the AI's rationale (marked).")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The action id, or a unique prefix of at least 4 characters.") var id: String
        @Option(help: "Also print the exact statement this approver would sign now.") var principal: String?

        func run() throws {
            let review = try options.review().review
            try ActionsCommand.refusing {
                print(ActionsCommand.describe(try review.review(id)))
                if let principal {
                    print("statement to sign (for \(principal)):")
                    print(try review.statement(id, principal: principal), terminator: "")
                }
            }
        }
    }

    /// `actions statement ID --principal P`
    struct Statement: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the approval statement to sign elsewhere: ssh-keygen -Y sign -n \(ApprovalStatement.namespace) -f KEY FILE.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The action id, or a unique prefix of at least 4 characters.") var id: String
        @Option(help: "Your approver principal, as in the inventory's mcp_approvers.") var principal: String

        func run() throws {
            let review = try options.review().review
            try ActionsCommand.refusing { print(try review.statement(id, principal: principal), terminator: "") }
        }
    }

    /// `actions approve ID`
    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve an action by signing its statement with your SSH key (HIGH impact needs --reason and more than one approver).",
            discussion: """
            The key: one of your ssh-agent's keys listed in mcp_approvers for the host (default), --key FILE (a private key, \
            or a public key whose private half is in the agent), or --signature FILE.sig made elsewhere with \
            `actions statement ID --principal P > FILE` and `ssh-keygen -Y sign -n \(ApprovalStatement.namespace) -f KEY FILE`.
            """)
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The action id, or a unique prefix of at least 4 characters.") var id: String
        @Option(help: "Why you approve (required for HIGH impact).") var reason: String?
        @Option(help: "The digest `actions show` printed (required with the agent or --key): nothing is signed unless the action's digest, recomputed now, is this one.")
        var digest: String?
        @Option(help: "Sign with this key file instead of the agent's keys.") var key: String?
        @Option(help: "Your principal, when your keys belong to several approvers.") var principal: String?
        @Option(help: "A signature made elsewhere (ssh-keygen -Y sign); the statement is FILE without .sig unless --statement is given.")
        var signature: String?
        @Option(help: "The statement file that --signature signs.") var statement: String?

        func validate() throws {
            if signature != nil && key != nil { throw ValidationError("--signature and --key exclude each other: a signature is already made") }
            if statement != nil && signature == nil { throw ValidationError("--statement goes with --signature FILE.sig") }
        }

        func run() throws {
            let review = try options.review().review
            let osAccount = OperatingSystemUser.current
            try ActionsCommand.refusing {
                let source: ActionReview.SignatureSource
                if let signature {
                    let statementPath = statement ?? (signature.hasSuffix(".sig") ? String(signature.dropLast(4)) : signature + ".txt")
                    guard let signatureText = try? String(contentsOfFile: signature, encoding: .utf8) else {
                        throw Refusal(.invalidArgument, "--signature \(signature): cannot read it")
                    }
                    guard let statementText = try? String(contentsOfFile: statementPath, encoding: .utf8) else {
                        throw Refusal(.invalidArgument, "the statement \(statementPath) (what \(signature) signs): cannot read it; name it with --statement")
                    }
                    source = .signed(SignedApproval(statement: statementText, signature: signatureText))
                } else if let key {
                    source = .keyFile(key)
                } else {
                    source = .agent
                }
                let record = try review.approve(id, source: source, digest: digest, principal: principal, reason: reason, osAccount: osAccount) {
                    print("signing this statement (namespace \(ApprovalStatement.namespace)):")
                    print($0, terminator: "")
                }
                let mine = record.decisions.last { $0.approves && $0.osAccount == osAccount }
                print("approved by \(mine?.approver ?? "?") (signed; OS account \(osAccount)): \(record.approvals) of \(record.requiredApprovals) "
                      + "approvals; the action is now \(record.state.rawValue)")
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
            let review = try options.review().review
            let approver = OperatingSystemUser.current
            try ActionsCommand.refusing {
                let record = try review.reject(id, osAccount: approver, reason: reason)
                print("rejected by \(approver); the action is now \(record.state.rawValue)")
            }
        }
    }

    /// Runs `body`; a refusal is printed on stderr and exits with status 1.
    static func refusing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let refusal as Refusal {
            // A refusal may quote stored text (a digest column, an id, a host): escaped, like everything printed.
            FileHandle.standardError.write(Data("refused: \(TerminalText.escaped(refusal.message))\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The review text of one action. What will run comes from the catalogue; every stored text is escaped,
    /// and the AI's rationale is marked line by line, so nothing in the database can redraw or imitate the review.
    static func describe(_ review: ProposalReview) -> String {
        let record = review.record
        func e(_ text: String) -> String { TerminalText.escaped(text) }
        let parameters = record.parameters.keys.sorted().map { "\(e($0))=\(e(record.parameters[$0]!))" }.joined(separator: " ")
        var lines = [
            "id:            \(e(record.id))",
            "state:         \(record.state.rawValue)",
        ]
        if let request = review.request {
            lines += [
                "action:        \(request.action.name)  (impact \(request.action.impact.rawValue), from the catalogue)",
                "host:          \(request.host.name)",
                "parameters:    \(parameters.isEmpty ? "none" : parameters)",
                "will run:      \(e(request.command.joined(separator: " ")))",
                "               as root on \(request.host.name), through pra-runner, pra-exec and sudo pra-run \(request.action.name)",
                "verification:  \(request.verification.isEmpty ? "none" : e(request.verification.joined(separator: " ")))",
            ]
        } else {
            lines += [
                "action:        \(e(record.action))  (not in the reviewer's catalogue: what would run cannot be shown)",
                "host:          \(e(record.host))",
                "parameters:    \(parameters.isEmpty ? "none" : parameters)",
            ]
        }
        lines.append("proposed by:   \(e(record.proposer)) (the MCP caller: the server's OS account over stdio, a token's name over HTTP; client \(e(record.client))) at \(utc(record.createdAt)) UTC")
        // The AI wrote the rationale: each of its lines is marked and escaped, so none can pass for a field of this review.
        lines.append("rationale, written by the AI (each line marked 'AI|'; not checked by anyone):")
        lines += TerminalText.marked(record.rationale, marker: "  AI| ")
        lines += [
            "digest:        \(review.digest)  (recomputed from action, host, parameters and catalogue)",
            "catalogue:     \(e(record.catalogueVersion))",
            "approvals:     \(record.approvals) of \(record.requiredApprovals) (pending expiry \(utc(record.expiresAt)) UTC)",
        ]
        if let problem = review.problem { lines.append("DO NOT APPROVE: \(e(problem))") }
        for decision in record.decisions {
            let how = decision.signed != nil ? " (signed; OS account \(e(decision.osAccount)))" : decision.approves ? " (UNSIGNED: does not count)" : ""
            lines.append("  \(decision.approves ? "approved" : "rejected") by \(e(decision.approver))\(how) at \(utc(decision.at)) UTC"
                         + (decision.reason.isEmpty ? "" : ": " + e(decision.reason)))
        }
        if let expires = record.approvalExpiresAt { lines.append("approval valid until \(utc(expires)) UTC") }
        for (index, decision) in record.decisions.enumerated() {
            guard let signed = decision.signed else { continue }
            lines.append("signed statement \(index + 1) (\(e(decision.approver))):")
            lines += signed.statement.split(separator: "\n").map { "  " + e(String($0)) }
        }
        if let run = record.execution {
            lines.append("execution:     exit \(run.exitCode.map(String.init) ?? "-"), verified \(e(run.verified ?? "-"))")
            if let check = run.verification, !check.isEmpty { lines.append("               \(e(check))") }
        }
        lines.append("history:")
        for step in record.transitions {
            // The first transition's reason is the rationale again: the AI's words, marked.
            let reason = step.from == nil ? "(the rationale above)" : e(step.reason)
            lines.append("  \(utc(step.at))  \(step.from?.rawValue ?? "-") -> \(step.to.rawValue)  by \(e(step.actor)): \(reason)")
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

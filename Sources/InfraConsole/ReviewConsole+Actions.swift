import Foundation
import Hummingbird
import InfraApp
import InfraDomain

extension ReviewConsole {
    /// The allowed form of an action id in a path: the id, or a unique prefix of at least 4 characters.
    static let idForm = "[0-9a-f-]{4,36}"

    static func isActionID(_ text: String) -> Bool { text.wholeMatch(of: try! Regex(idForm)) != nil }

    /// `GET /`: the pending actions.
    func queue(_ request: Request) -> Response {
        guard let visit = visit(request) else { return Self.redirect("/login") }
        let reviews: [ProposalReview]
        do {
            reviews = try services.review.list(states: [.proposed, .approved])
        } catch {
            return storeFailure(error, visit: visit, doing: "list the pending actions")
        }
        let date = now()
        let rows: [[String: Any]] = reviews.map { review in
            let record = review.record
            let end = record.state == .approved ? (record.approvalExpiresAt ?? record.expiresAt) : record.expiresAt
            let rationale = record.rationale.count > 240 ? String(record.rationale.prefix(240)) + "…" : record.rationale
            return ["id": record.id, "shortID": String(record.id.prefix(8)), "action": record.action, "host": record.host,
                    "impact": record.impact, "impactClass": record.impact.lowercased(), "state": record.state.rawValue,
                    "stateClass": record.state.rawValue.lowercased(), "approvals": record.approvals, "required": record.requiredApprovals,
                    "timeLeft": ConsoleTime.left(until: end, now: date), "rationale": rationale]
        }
        return render(.queue, ["actions": rows, "hasActions": !rows.isEmpty], visit: visit, nav: "queue")
    }

    /// `GET /actions/{id}`: one action.
    func actionPage(_ request: Request, id: String) -> Response {
        guard let visit = visit(request) else { return Self.redirect("/login") }
        return action(id, visit: visit)
    }

    /// The action page of `id` for `visit`, with the outcome of a step just taken.
    func action(_ id: String, visit: Visit, status: HTTPResponse.Status = .ok, notice: String? = nil, error: String? = nil) -> Response {
        guard Self.isActionID(id) else {
            return message("No such action", "'\(id.prefix(40))' is not an action id (hex digits and dashes, 4 to 36): "
                           + "open the action from the queue.", visit: visit, status: .notFound)
        }
        do {
            let review = try services.review.review(id)
            return render(.action, actionData(review, visit: visit), visit: visit, status: status, notice: notice, error: error)
        } catch let refusal as Refusal {
            return message("No such action", refusal.message, visit: visit, status: Self.status(of: refusal))
        } catch {
            return storeFailure(error, visit: visit, doing: "read the action")
        }
    }

    /// What the action page shows, as `actions show` does, and the statement for this approver when one may sign.
    func actionData(_ review: ProposalReview, visit: Visit) -> [String: Any] {
        let record = review.record, principal = visit.session.principal, date = now()
        var data: [String: Any] = [
            "id": record.id, "action": record.action, "host": record.host, "state": record.state.rawValue,
            "stateClass": record.state.rawValue.lowercased(), "impact": record.impact, "impactClass": record.impact.lowercased(),
            "hostKeys": services.pinnedHostKeys[record.host] ?? [],
            "parameters": record.parameters.keys.sorted().map { ["name": $0, "value": record.parameters[$0]!] },
            "digest": review.digest, "catalogue": record.catalogueVersion, "proposer": record.proposer, "client": record.client,
            "created": ConsoleTime.utc(record.createdAt), "approvals": record.approvals, "required": record.requiredApprovals,
            "pending": record.state == .proposed, "expires": ConsoleTime.utc(record.expiresAt),
            "timeLeft": ConsoleTime.left(until: record.expiresAt, now: date), "rationale": record.rationale,
        ]
        if let request = review.request {
            data["fromCatalogue"] = true
            data["impact"] = request.action.impact.rawValue
            data["impactClass"] = request.action.impact.rawValue.lowercased()
            data["command"] = request.command.joined(separator: " ")
            if !request.verification.isEmpty { data["verification"] = request.verification.joined(separator: " ") }
            data["runsAs"] = review.runsAs(runner: services.runner)
        }
        if let problem = review.problem { data["problem"] = problem }
        if let until = record.approvalExpiresAt { data["approvalValidUntil"] = ConsoleTime.utc(until) }
        data["decisions"] = record.decisions.map { decision -> [String: Any] in
            var row: [String: Any] = ["verb": decision.approves ? "approved" : "rejected", "verbClass": decision.approves ? "approved" : "rejected",
                                      "approver": decision.approver, "at": ConsoleTime.utc(decision.at),
                                      "how": decision.signed != nil ? "(signed; account \(decision.osAccount))"
                                          : decision.approves ? "(UNSIGNED: does not count)" : "(account \(decision.osAccount))"]
            if !decision.reason.isEmpty { row["reason"] = decision.reason }
            return row
        }
        data["signedStatements"] = record.decisions.compactMap { decision in
            decision.signed.map { ["approver": decision.approver, "statement": $0.statement] }
        }
        if let run = record.execution {
            var execution: [String: Any] = ["exit": run.exitCode.map(String.init) ?? "-", "verified": run.verified ?? "-",
                                            "verifiedClass": run.verified ?? "", "started": ConsoleTime.utc(run.startedAt),
                                            "finished": run.finishedAt.map(ConsoleTime.utc) ?? "not yet", "executor": run.executor]
            if let check = run.verification, !check.isEmpty { execution["check"] = check }
            if let out = run.stdout, !out.isEmpty { execution["stdout"] = out }
            if let err = run.stderr, !err.isEmpty { execution["stderr"] = err }
            data["execution"] = execution
        }
        data["history"] = record.transitions.map { step -> [String: Any] in
            ["at": ConsoleTime.utc(step.at), "from": step.from?.rawValue ?? "-", "to": step.to.rawValue, "toClass": step.to.rawValue.lowercased(),
             "actor": step.actor, "reason": step.reason, "isRationale": step.from == nil]
        }
        guard record.state == .proposed else { return data }
        let decided = record.decisions.contains { $0.approver == principal || $0.osAccount == AuditActor.console(principal) }
        data["canReject"] = !decided
        if decided {
            data["cannotSign"] = "You (\(principal)) have already decided on this action."
        } else if let problem = review.problem {
            data["cannotSign"] = "This action must not be signed: \(problem)"
        } else {
            do {
                let statement = try services.review.statement(record.id, principal: principal)
                let parsed = try? ApprovalStatement.parse(statement)
                let encoded = Data(statement.utf8).base64EncodedString()
                data["sign"] = [
                    "principal": principal, "statement": statement, "statementBase64": encoded,
                    "notAfter": parsed.map { ConsoleTime.utc($0.notAfter) } ?? "-",
                    "saveCommand": "echo \(encoded) | base64 -d > statement.txt",
                    "signCommand": "ssh-keygen -Y sign -n \(ApprovalStatement.namespace) -f ~/.ssh/id_ed25519 statement.txt",
                    "reasonRequired": review.request?.action.impact == .high,
                ] as [String: Any]
            } catch {
                data["cannotSign"] = (error as? Refusal)?.message ?? "No statement can be made now: \(error)"
            }
        }
        return data
    }

    /// `POST /actions/{id}/approve`: the pasted signature of the statement the page showed. The statement
    /// must be this approver's, for this action; `ActionReview.approve` verifies the signature against the
    /// inventory's keys and records the approval (with `console:PRINCIPAL` as its account), or nothing.
    func approve(_ request: Request, id: String) async throws -> Response {
        try await decide(request, id: id, doing: "record the approval") { visit, fields in
            let principal = visit.session.principal
            guard let encoded = try fields.value("statement", limit: 8000), let bytes = Data(base64Encoded: encoded),
                  let statement = String(data: bytes, encoding: .utf8) else {
                throw FormFields.Problem(description: "field 'statement': missing or not what the page sent; reload the action and sign the statement shown")
            }
            guard let digest = try fields.value("digest", matching: "sha256:[0-9a-f]{64}", hint: "not a digest (sha256:HEX); reload the action page") else {
                throw FormFields.Problem(description: "field 'digest': missing; reload the action page and send its form")
            }
            let signature = try Self.signature(fields, file: "statement.txt.sig")
            let reason = try fields.value("reason")
            let named: ApprovalStatement
            do {
                named = try ApprovalStatement.parse(statement)
            } catch {
                throw FormFields.Problem(description: "field 'statement': \(error); reload the action page and sign the statement shown")
            }
            let full = try services.review.review(id).record.id
            guard named.proposalID == full, named.principal == principal else {
                throw FormFields.Problem(description: "field 'statement': it is for \(named.principal) on action \(named.proposalID), not for you (\(principal)) "
                                         + "on this action; sign the statement this page shows")
            }
            let record = try services.review.approve(full, source: .signed(SignedApproval(statement: statement, signature: signature)), digest: digest,
                                                     principal: nil, reason: reason, osAccount: AuditActor.console(principal))
            logger.info("console: \(principal) approved \(full) (\(record.approvals) of \(record.requiredApprovals); \(record.state.rawValue))")
            return action(full, visit: visit, notice: "Your signed approval was recorded: \(record.approvals) of \(record.requiredApprovals) approvals; "
                          + "the action is now \(record.state.rawValue).")
        }
    }

    /// `POST /actions/{id}/reject`: a rejection with its reason (a veto needs no key: it can only stop an action).
    func reject(_ request: Request, id: String) async throws -> Response {
        try await decide(request, id: id, doing: "record the rejection") { visit, fields in
            guard let reason = try fields.value("reason"), FreeText.reason.accepts(reason) else {
                throw FormFields.Problem(description: "field 'reason': \(FreeText.reason.rule); say why (the AI reads it)")
            }
            let record = try services.review.reject(id, approver: visit.session.principal, reason: reason)
            logger.info("console: \(visit.session.principal) rejected \(record.id)")
            return action(record.id, visit: visit, notice: "Rejected: the action is now \(record.state.rawValue).")
        }
    }

    /// A decision about action `id` from a gated form: `body` records it and answers the action page; a bad
    /// field or a refusal of the use case answers the same page with the error, and nothing is recorded.
    func decide(_ request: Request, id: String, doing what: String, _ body: (Visit, FormFields) throws -> Response) async throws -> Response {
        try await gated(request) { visit, fields in
            guard Self.isActionID(id) else { return action(id, visit: visit) }
            do {
                return try body(visit, fields)
            } catch let problem as FormFields.Problem {
                return action(id, visit: visit, status: .badRequest, error: "Nothing was recorded. " + problem.description)
            } catch let refusal as Refusal {
                return action(id, visit: visit, status: Self.status(of: refusal), error: "Nothing was recorded. " + refusal.message)
            } catch {
                return storeFailure(error, visit: visit, doing: what)
            }
        }
    }
}

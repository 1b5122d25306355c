import Foundation
import Hummingbird
import InfraApp
import InfraDomain

extension ReviewConsole {
    /// The search fields of `/audit` and `/audit/export`: each with its allowed form and what to type instead.
    static let auditFields: [(name: String, form: String, hint: String)] = [
        ("host", "[A-Za-z0-9_.-]{1,253}", "an inventory host name"),
        ("action", "[a-z][a-z0-9_]{0,63}", "a catalogue action name such as restart_service"),
        ("actor", "[A-Za-z0-9_.@+:-]{1,200}", "an actor such as key:alice@example.org, os:alice, mcp:svc, console:alice@example.org, system"),
        ("kind", "[a-z_-]{1,32}", "a kind such as tool, ssh, state, approval, console"),
        ("outcome", "[A-Za-z0-9_.-]{1,64}", "an outcome such as ok, error, approved, APPROVED, login"),
        ("proposal", "[0-9a-f-]{4,64}", "a whole action id"),
    ]

    /// The search a query string asks for, and its fields as given (to fill the form and build links).
    func auditSearch(_ request: Request) throws(FormFields.Problem) -> (filter: AuditFilter, given: [String: String]) {
        let fields = try FormFields(request.uri.query ?? "")
        var filter = AuditFilter(), given: [String: String] = [:]
        for field in Self.auditFields {
            given[field.name] = try fields.value(field.name, matching: field.form, hint: "not \(field.hint)")
        }
        (filter.host, filter.action, filter.actor) = (given["host"], given["action"], given["actor"])
        (filter.kind, filter.outcome, filter.proposalID) = (given["kind"], given["outcome"], given["proposal"])
        for (name, end) in [("since", false), ("until", true)] {
            guard let text = try fields.value(name, limit: 40) else { continue }
            guard let bound = AuditFilter.timeBound(text, end: end) else {
                throw FormFields.Problem(description: "field '\(name)': must be YYYY-MM-DD or an ISO 8601 time such as 2026-11-21T09:00:00Z")
            }
            given[name] = text
            if end { filter.until = bound } else { filter.since = bound }
        }
        if let before = try fields.value("before", limit: 20) {
            guard let seq = Int64(before), seq > 0 else { throw FormFields.Problem(description: "field 'before': must be a row number (1 or more)") }
            filter.beforeSeq = seq
        }
        return (filter, given)
    }

    /// `?name=value&…` of `given` (empty when nothing is given), percent-encoded.
    static func query(_ given: [String: String]) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        let pairs = given.keys.sorted().map { "\($0)=\(given[$0]!.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
        return pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&")
    }

    /// `GET /audit`: a page of the rows matching the search, newest first.
    func auditPage(_ request: Request) async -> Response {
        guard let visit = visit(request) else { return Self.redirect("/login") }
        var data: [String: Any] = ["hosts": services.inventory.hosts.map(\.name)]
        let search: (filter: AuditFilter, given: [String: String])
        do {
            search = try auditSearch(request)
        } catch {
            return render(.audit, data, visit: visit, nav: "audit", status: .badRequest, error: error.description)
        }
        for (name, value) in search.given { data[name] = value }
        data["exportQuery"] = Self.query(search.given)
        var filter = search.filter
        let size = max(1, settings.auditPageSize)
        filter.limit = size + 1
        let found: [AuditChain.Record]
        do {
            found = try services.audit.records(filter)
        } catch {
            return storeFailure(error, visit: visit, doing: "search the audit log")
        }
        let shown = Array(found.suffix(size).reversed())
        data["rows"] = shown.map { row -> [String: Any] in
            var cells: [String: Any] = ["seq": row.seq, "at": row.at, "actor": row.actor, "kind": row.kind, "host": row.host, "action": row.action,
                                        "outcome": row.outcome, "detail": row.detail]
            if !row.proposalID.isEmpty {
                cells["proposal"] = row.proposalID
                cells["shortProposal"] = String(row.proposalID.prefix(8))
            }
            return cells
        }
        data["hasRows"] = !shown.isEmpty
        if found.count > size, let oldest = shown.last {
            var older = search.given
            older["before"] = String(oldest.seq)
            data["olderQuery"] = Self.query(older)
        }
        if filter.beforeSeq != nil { data["newerQuery"] = Self.query(search.given).isEmpty ? "?" : Self.query(search.given) }
        // The chain's status: the rows appended since the last check are verified now (the first check reads all).
        if let status = try? await services.chain.check(services.audit, at: now()) {
            if let broken = status.brokenRow {
                data["chainBroken"] = "row \(broken): \(status.problem ?? "does not chain")"
            } else {
                data["chainIntact"] = "intact through row \(status.verified?.seq ?? 0) of \(status.rows)"
            }
        }
        return render(.audit, data, visit: visit, nav: "audit")
    }

    /// `GET /audit/export`: every row matching the search, oldest first, as JSON lines with their hashes.
    func auditExport(_ request: Request) -> Response {
        guard let visit = visit(request) else { return Self.redirect("/login") }
        do {
            var filter = try auditSearch(request).filter
            filter.beforeSeq = nil
            let lines = try services.audit.records(filter).map(AuditJSONLine.line)
            let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
            return Response(status: .ok, headers: [.contentType: "application/jsonl; charset=utf-8",
                                                   .contentDisposition: "attachment; filename=\"audit.jsonl\""],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        } catch let problem as FormFields.Problem {
            return render(.audit, ["hosts": services.inventory.hosts.map(\.name)], visit: visit, nav: "audit", status: .badRequest,
                          error: problem.description)
        } catch {
            return storeFailure(error, visit: visit, doing: "export the audit log")
        }
    }

    /// `GET /audit/verify`: `audit verify` (the chain, digests, signed approvals), without the hosts.
    func verifyPage(_ request: Request) -> Response {
        guard let visit = visit(request) else { return Self.redirect("/login") }
        do {
            return verification(try services.verification.verifyLog(anchors: []), hosts: nil, visit: visit)
        } catch {
            return storeFailure(error, visit: visit, doing: "verify the audit log")
        }
    }

    /// `POST /audit/verify/hosts`: the same, then every host's ledger reconciled (`audit verify --hosts`).
    func verifyHosts(_ request: Request) async throws -> Response {
        try await gated(request) { visit, _ in
            guard let ledgers = services.ledgers else {
                return message("No reader key", "This console cannot read the hosts' ledgers (no reader key is loaded): run "
                               + "`mcp-linux-infra audit verify --hosts` on the controller.", visit: visit, status: .serviceUnavailable,
                               link: "/audit/verify", linkText: "Back to the verification")
            }
            do {
                var report = try services.verification.verifyLog(anchors: [])
                try await services.verification.verifyHosts(ledgers: ledgers, report: &report, now: now())
                return verification(report, hosts: services.inventory.hosts.count, visit: visit)
            } catch {
                return storeFailure(error, visit: visit, doing: "reconcile the hosts' ledgers")
            }
        }
    }

    /// The verification page of `report` (`hosts`: how many hosts' ledgers were read, or nil).
    func verification(_ report: AuditVerification.Report, hosts: Int?, visit: Visit) -> Response {
        let ledger = hosts.map { ", \(report.ledgerEntriesChecked) ledger entries on \($0) host(s) match" } ?? ""
        var data: [String: Any] = [
            "rows": report.rows, "head": report.head.map(\.description) ?? "none (empty log)", "statements": report.statementsChecked,
            "problems": (report.problems + report.unchecked.map { "could not check " + $0 }).map(TerminalText.escaped),
            "hasProblems": !report.problems.isEmpty || !report.unchecked.isEmpty,
            "canCheckHosts": services.ledgers != nil,
            "verdict": !report.problems.isEmpty
                ? "FAILED: \(report.problems.count) problem(s); the first: \(TerminalText.escaped(report.problems[0]))"
                : !report.unchecked.isEmpty
                ? "COULD NOT CHECK \(report.unchecked.count) part(s); the first: \(TerminalText.escaped(report.unchecked[0]))"
                : "Chain intact: \(report.rows) rows, \(report.statementsChecked) signed approval(s) verified\(ledger).",
            "verdictClass": report.problems.isEmpty && report.unchecked.isEmpty ? "ok" : "bad",
        ]
        if let hosts {
            data["hostsChecked"] = true
            data["ledgerEntries"] = report.ledgerEntriesChecked
            data["hostCount"] = hosts
        }
        return render(.verify, data, visit: visit, nav: "audit", status: .ok)
    }
}

import Foundation
import Hummingbird
import InfraApp
import InfraDomain

extension ReviewConsole {
    /// `GET /login`: a fresh challenge, bound to this browser by a cookie that only `/login` receives.
    func loginPage(_ request: Request, status: HTTPResponse.Status = .ok, error: String? = nil) -> Response {
        let challenge = sessions.challenge()
        var data: [String: Any] = [
            "challenge": challenge.text, "nonce": challenge.nonce, "expires": ConsoleTime.utc(challenge.notAfter),
            "saveCommand": "echo '\(challenge.text)' > challenge.txt", "signCommand": ConsoleLogin.signCommand(),
            "namespace": ConsoleLogin.namespace,
        ]
        if let visit = visit(request) { data["loggedInAs"] = visit.session.principal }
        var response = render(.login, data, visit: nil, status: status, error: error)
        response.setCookie(Cookie(name: Self.challengeCookie, value: challenge.nonce, maxAge: Int(settings.challengeLifetime), path: "/login",
                                  secure: settings.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    /// `POST /login`: the pasted signature of the challenge this browser was given. A valid signature by an
    /// approver's key opens a session (audited) and uses the challenge up. A refusal writes no audit row: anyone who
    /// reaches the port could otherwise grow the log without end; it goes to the server log, by reason and key.
    func logIn(_ request: Request) async throws -> Response {
        let fields: FormFields
        do {
            fields = try await form(request)
        } catch let problem as FormFields.Problem {
            return loginPage(request, status: .badRequest, error: problem.description)
        }
        let nonce = (try? fields.value("nonce", limit: 64)) ?? nil
        guard let nonce, ConsoleLogin.isNonce(nonce), let bound = request.cookies[Self.challengeCookie]?.value,
              ConsoleSecret.matches(bound, nonce) else {
            refused("challenge-binding", key: nil)
            return loginPage(request, status: .forbidden, error: "field 'nonce': missing, or not the challenge this browser was shown; "
                                                                + "sign the new challenge below (cookies must be enabled for this page)")
        }
        guard let challenge = sessions.challenge(nonce: nonce) else {
            refused("challenge-unknown", key: nil)
            return loginPage(request, status: .unauthorized, error: "signature: that challenge was already used or is unknown to this server; "
                                                                     + "sign the new challenge below")
        }
        let checked = checkLogin(fields, challenge, request: request)
        guard let approver = checked.approver else { return checked.refusal! }
        guard sessions.use(challenge) else {
            refused("challenge-unknown", key: approver.key.fingerprint)
            return loginPage(request, status: .unauthorized, error: "signature: that challenge was already used; sign the new challenge below")
        }
        try await audit("login", actor: AuditActor.console(approver.principal), ["principal": approver.principal, "key": approver.key.fingerprint])
        let opened = sessions.open(approver)
        logger.info("console: \(approver.principal) logged in with key \(approver.key.fingerprint)")
        var response = Self.redirect("/")
        response.setCookie(Cookie(name: Self.sessionCookie, value: opened.id, maxAge: Int(settings.sessionLifetime), path: "/",
                                  secure: settings.secureCookies, httpOnly: true, sameSite: .strict))
        response.setCookie(Cookie(name: Self.challengeCookie, value: "", maxAge: 0, path: "/login", secure: settings.secureCookies,
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    /// `POST /logout`: ends the session (CSRF-checked, like every form).
    func logOut(_ request: Request) async throws -> Response {
        try await gated(request) { visit, _ in
            sessions.close(id: visit.id)
            try await audit("logout", actor: AuditActor.console(visit.session.principal),
                            ["principal": visit.session.principal, "key": visit.session.fingerprint])
            var response = Self.redirect("/login")
            response.setCookie(Cookie(name: Self.sessionCookie, value: "", maxAge: 0, path: "/", secure: settings.secureCookies,
                                      httpOnly: true, sameSite: .strict))
            return response
        }
    }

    /// The approver whose signature of `challenge` the form carries, or the login page that says why not.
    func checkLogin(_ fields: FormFields, _ challenge: ConsoleLogin, request: Request) -> (approver: Approver?, refusal: Response?) {
        let signature: String, principal: String?
        do {
            signature = try Self.signature(fields, file: "challenge.txt.sig")
            principal = try fields.value("principal", matching: Approver.principalForm,
                                         hint: "not a principal of mcp_approvers (letters, digits, _.@+-); leave it empty unless asked")
        } catch {
            refused("form", key: nil)
            return (nil, loginPage(request, status: .badRequest, error: error.description))
        }
        do {
            return (try challenge.verify(signature: signature, approvers: services.approvers, principal: principal, now: now()), nil)
        } catch {
            refused(error.reason, key: error.fingerprint)
            return (nil, loginPage(request, status: .unauthorized, error: error.description))
        }
    }

    /// A refused login, in the server log: the reason's code and the key's fingerprint only (never text the
    /// client sent).
    func refused(_ reason: String, key: String?) {
        logger.notice("console: login refused", metadata: ["reason": .string(reason), "key": .string(key ?? "-")])
    }

    /// Appends a `console` row to the audit log (and waits for its commit: no login without its row).
    func audit(_ outcome: String, actor: String, _ detail: [String: String]) async throws {
        try await services.recorder.record(AuditChain.Record(actor: actor, kind: "console", outcome: outcome, detail: detail,
                                                             at: AuditChain.timestamp(now())))
    }
}

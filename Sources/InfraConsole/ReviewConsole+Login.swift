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

    /// `POST /login`: the pasted signature of the challenge this browser was given. The challenge is used up
    /// whatever happens; a valid signature by an approver's key opens a session, and every attempt is audited.
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
            try await audit("login-refused", actor: "console", ["reason": "challenge-binding", "key": "",
                                                                "message": "the form's nonce is not the challenge cookie of this browser"])
            return loginPage(request, status: .forbidden, error: "field 'nonce': missing, or not the challenge this browser was shown; "
                                                                + "sign the new challenge below (cookies must be enabled for this page)")
        }
        guard let challenge = sessions.take(nonce: nonce) else {
            try await audit("login-refused", actor: "console", ["reason": "challenge-unknown", "key": "",
                                                                "message": "the challenge was already used or never given out"])
            return loginPage(request, status: .unauthorized, error: "signature: that challenge was already used or is unknown to this server; "
                                                                     + "sign the new challenge below")
        }
        let approver: Approver
        do {
            let signature = try Self.signature(fields, file: "challenge.txt.sig")
            let principal = try fields.value("principal", matching: Approver.principalForm,
                                             hint: "not a principal of mcp_approvers (letters, digits, _.@+-); leave it empty unless asked")
            do {
                approver = try challenge.verify(signature: signature, approvers: services.approvers, principal: principal, now: now())
            } catch {
                try await audit("login-refused", actor: "console", ["reason": error.reason, "key": error.fingerprint ?? "", "message": error.description])
                logger.notice("console: login refused: \(error)")
                return loginPage(request, status: .unauthorized, error: error.description)
            }
        } catch let problem as FormFields.Problem {
            try await audit("login-refused", actor: "console", ["reason": "form", "key": "", "message": problem.description])
            return loginPage(request, status: .badRequest, error: problem.description)
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

    /// Appends a `console` row to the audit log (and waits for its commit: no login without its row).
    func audit(_ outcome: String, actor: String, _ detail: [String: String]) async throws {
        try await services.recorder.record(AuditChain.Record(actor: actor, kind: "console", outcome: outcome, detail: detail,
                                                             at: AuditChain.timestamp(now())))
    }
}

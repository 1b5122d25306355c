import Foundation
import Hummingbird
import InfraApp
import InfraDomain
import Logging

/// The review console: server-rendered pages where approvers log in with an SSH-signed nonce, read the queue
/// of pending actions, approve one by pasting a signature made with `ssh-keygen -Y sign`, reject, search and
/// verify the audit log, and see the fleet. A thin adapter over ``ConsoleServices``: every decision is a use
/// case of InfraApp, and an approval counts only by its signature, never by the web session.
///
/// The console reads no `Authorization` header: an MCP bearer token opens nothing here, and a console
/// session (a cookie) opens nothing on `/mcp`. It adds its routes to a router the HTTP front owns, and
/// never `/mcp`, `/metrics` or `/healthz`.
public struct ReviewConsole: Sendable {
    let services: ConsoleServices
    let settings: ConsoleSettings
    let logger: Logger
    let now: @Sendable () -> Date
    let sessions: ConsoleSessions
    let pages: ConsolePages
    let fleet: FleetSnapshot

    /// The session cookie's name, and the login page's cookie that binds a login POST to its challenge.
    static let sessionCookie = "console_session", challengeCookie = "console_challenge"
    /// The largest form body read.
    static let maxBody = 64 * 1024

    /// A console over `services`; `now` is the clock of challenges and sessions (tests move it).
    public init(services: ConsoleServices, settings: ConsoleSettings = ConsoleSettings(), logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.services = services
        self.settings = settings
        self.logger = logger
        self.now = now
        self.sessions = ConsoleSessions(settings: settings, now: now)
        self.pages = ConsolePages()
        self.fleet = FleetSnapshot()
    }

    /// Adds the console's routes to `router`: `/`, `/login`, `/logout`, `/actions/{id}` (and its `approve`,
    /// `reject`), `/audit`, `/audit/export`, `/audit/verify` (and `hosts`), `/fleet` (and `probe`), `/static/…`.
    /// Every response of these routes carries the console's security headers.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        let group = router.group().add(middleware: ConsoleHeaders<Context>(pages: pages, logger: logger))
        group.get("/login") { request, _ in loginPage(request) }
        group.post("/login") { request, _ in try await logIn(request) }
        group.post("/logout") { request, _ in try await logOut(request) }
        group.get("/") { request, _ in queue(request) }
        group.get("/actions/{id}") { request, context in actionPage(request, id: context.parameters.get("id") ?? "") }
        group.post("/actions/{id}/approve") { request, context in try await approve(request, id: context.parameters.get("id") ?? "") }
        group.post("/actions/{id}/reject") { request, context in try await reject(request, id: context.parameters.get("id") ?? "") }
        group.get("/audit") { request, _ in await auditPage(request) }
        group.get("/audit/export") { request, _ in auditExport(request) }
        group.get("/audit/verify") { request, _ in verifyPage(request) }
        group.post("/audit/verify/hosts") { request, _ in try await verifyHosts(request) }
        group.get("/fleet") { request, _ in await fleetPage(request) }
        group.post("/fleet/probe") { request, _ in try await probeFleet(request) }
        group.get("/static/console.css") { _, _ in Self.asset(ConsoleStylesheet.text, type: "text/css; charset=utf-8") }
        group.get("/static/console.js") { _, _ in Self.asset(ConsoleScript.text, type: "text/javascript; charset=utf-8") }
    }

    // MARK: - Sessions and forms

    /// A request from a logged-in approver: the cookie's id and the session it opens.
    struct Visit {
        var id: String
        var session: ConsoleSessions.Session
    }

    /// The live session of the request's cookie, or nil. Nothing else identifies a visitor: no header is read.
    func visit(_ request: Request) -> Visit? {
        guard let id = request.cookies[Self.sessionCookie]?.value, ConsoleSecret.isWellFormed(id) else { return nil }
        return sessions.session(id: id).map { Visit(id: id, session: $0) }
    }

    /// The request's form body, parsed and bounded.
    func form(_ request: Request) async throws -> FormFields {
        var request = request
        let body = try await request.collectBody(upTo: Self.maxBody)
        return try FormFields(String(buffer: body))
    }

    /// Runs `body` for a form POST from a session with its CSRF token (compared in constant time); otherwise
    /// answers 401 without a session, 403 with a missing or wrong token, 400 for a form that does not parse,
    /// and nothing is done.
    func gated(_ request: Request, _ body: (Visit, FormFields) async throws -> Response) async throws -> Response {
        guard let visit = visit(request) else {
            return message("Log in again", "Your session ended (or you are not logged in): nothing was done. Log in, then send the form again.",
                           visit: nil, status: .unauthorized, link: "/login", linkText: "Log in")
        }
        let fields: FormFields
        do {
            fields = try await form(request)
        } catch let problem as FormFields.Problem {
            return message("Form refused", problem.description, visit: visit, status: .badRequest)
        }
        let token = (try? fields.value("csrf", limit: 128)) ?? nil
        guard let token, ConsoleSecret.matches(token, visit.session.csrf) else {
            logger.warning("console: a form for \(request.uri.path) came without this session's CSRF token; refused")
            return message("Form refused", "field 'csrf': missing or not this session's token, so the form may not come from this console: "
                           + "nothing was done. Reload the page and send it again.", visit: visit, status: .forbidden)
        }
        return try await body(visit, fields)
    }

    /// A pasted armored signature (`ssh-keygen -Y sign` output) with its line ends made LF, or why not.
    static func signature(_ fields: FormFields, file: String) throws(FormFields.Problem) -> String {
        guard let text = try fields.value("signature", limit: 8000, multiline: true) else {
            throw FormFields.Problem(description: "field 'signature': empty; paste the whole file \(file), BEGIN and END lines included")
        }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "+/=- \r\n"))
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }) else {
            throw FormFields.Problem(description: "field 'signature': holds characters an SSH signature never has; paste exactly the file \(file)")
        }
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Responses

    /// An HTML response.
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A static file of the console.
    static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A redirect to `location` (a path of the console) after a GET that needs a session, or after a form.
    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// `page` in the layout, for `visit` (its navigation and logout form) with a notice or an error.
    func render(_ page: ConsolePages.Page, _ data: [String: Any], visit: Visit?, nav: String = "", status: HTTPResponse.Status = .ok,
                notice: String? = nil, error: String? = nil) -> Response {
        var data = data
        if let visit {
            data["session"] = ["principal": visit.session.principal, "fingerprint": visit.session.fingerprint, "csrf": visit.session.csrf,
                               "navQueue": nav == "queue", "navAudit": nav == "audit", "navFleet": nav == "fleet"] as [String: Any]
            data["csrf"] = visit.session.csrf
        }
        if let notice { data["notice"] = notice }
        if let error { data["error"] = error }
        return Self.html(pages.render(page, data), status: status)
    }

    /// A page that says why and what next.
    func message(_ heading: String, _ text: String, visit: Visit?, status: HTTPResponse.Status, link: String = "/",
                 linkText: String = "Back to the queue") -> Response {
        render(.message, ["heading": heading, "message": text, "link": link, "linkText": linkText], visit: visit, status: status)
    }

    /// The page for a store that failed: the error goes to the log only.
    func storeFailure(_ error: any Error, visit: Visit?, doing what: String) -> Response {
        logger.error("console: \(what) failed: \(error)")
        return message("The state store failed", "Could not \(what): the server's log (stderr) says why. Try again; nothing was changed by this page.",
                       visit: visit, status: .internalServerError)
    }

    /// The status that answers a refusal of the use cases.
    static func status(of refusal: Refusal) -> HTTPResponse.Status {
        switch refusal.code {
        case .notFound: .notFound
        case .wrongState: .conflict
        default: .badRequest
        }
    }
}

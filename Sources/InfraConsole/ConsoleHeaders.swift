import Hummingbird
import Logging

/// What every console response carries, whatever the page: a CSP that allows the console's own script and
/// stylesheet only (no inline script, no framing, forms posting back here only), no MIME sniffing, no
/// referrer, and no caching. A handler's error becomes a page that says what to do, with the same headers;
/// the error itself goes to the log (stderr), never to the browser.
struct ConsoleHeaders<Context: RequestContext>: RouterMiddleware {
    typealias Header = HTTPFields.Element.Name

    static var policy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    }

    let pages: ConsolePages
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            let page = pages.render(.message, ["heading": "Request refused", "link": "/", "linkText": "Back to the queue",
                                               "message": "The request could not be served (HTTP \(error.status.code)): check what you sent and try again."])
            response = ReviewConsole.html(page, status: error.status)
        } catch {
            logger.error("console: \(request.method) \(request.uri.path) failed: \(error)")
            let page = pages.render(.message, ["heading": "Internal error", "link": "/", "linkText": "Back to the queue",
                                               "message": "The console could not serve this page; the server's log (stderr) says why."])
            response = ReviewConsole.html(page, status: .internalServerError)
        }
        response.headers[.contentSecurityPolicy] = Self.policy
        response.headers[Header("X-Content-Type-Options")!] = "nosniff"
        response.headers[Header("Referrer-Policy")!] = "no-referrer"
        response.headers[Header("X-Frame-Options")!] = "DENY"
        response.headers[.cacheControl] = "no-store"
        return response
    }
}

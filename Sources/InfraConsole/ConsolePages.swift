import Mustache

/// The console's templates, compiled once from the Swift string literals under `Pages/` (the product is one
/// binary: no template file is read at run time), and rendered with HTML escaping: every value goes through
/// `{{ }}`, so nothing stored (a rationale, a reason, a host name) is ever markup.
struct ConsolePages: Sendable {
    /// A page the console renders.
    enum Page: String, CaseIterable {
        case login, queue, action, audit, verify, fleet, message

        var template: String {
            switch self {
            case .login: LoginPage.template
            case .queue: QueuePage.template
            case .action: ActionPage.template
            case .audit: AuditPage.template
            case .verify: VerifyPage.template
            case .fleet: FleetPage.template
            case .message: MessagePage.template
            }
        }
    }

    private let library: MustacheLibrary

    /// Compiles every template; a template that does not parse is a programming error caught by any test.
    init() {
        var library = MustacheLibrary()
        do {
            try library.register(LayoutPage.template, named: "layout")
            for page in Page.allCases { try library.register(page.template, named: page.rawValue) }
        } catch {
            preconditionFailure("a console template does not parse: \(error)")
        }
        self.library = library
    }

    /// `page` rendered with `data`.
    func render(_ page: Page, _ data: [String: Any]) -> String {
        library.render(data, withTemplate: page.rawValue) ?? ""
    }
}

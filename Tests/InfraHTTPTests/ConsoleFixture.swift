import Foundation
import Hummingbird
import HummingbirdTesting
import InfraApp
import InfraConsole
import InfraDomain
import InfraTestSupport
import Logging
import Testing

/// A clock the console tests move (challenges, sessions and statements read it; nothing sleeps).
final class ConsoleClock: @unchecked Sendable {
    private let lock = NSLock()
    private var date = Date(timeIntervalSince1970: 1_800_000_000)

    var now: Date { lock.withLock { date } }
    func advance(_ seconds: TimeInterval) { lock.withLock { date += seconds } }
}

/// The review console over the real use cases and in-memory ports: one host, web1, whose approvers are alice
/// and bob (mallory's key is nobody's), the AI's proposals made through ``ActionWorkflow``, and a router
/// holding only the console, tested with HummingbirdTesting.
final class ConsoleFixture: @unchecked Sendable {
    static let catalogueText = [
        "restart_service\tMEDIUM\tunit:allowed-service:^[A-Za-z0-9][A-Za-z0-9_.@-]{0,120}[.]service$\tsystemctl restart -- {unit}\t"
            + "systemctl is-active --quiet -- {unit}\tyes\tRestart one service of mcp_allowed_services.",
        "reboot_system\tHIGH\t-\tsystemctl reboot\t-\tno\tReboot the host.",
    ].joined(separator: "\n") + "\n"
    static let hostKey = "SHA256:" + String(repeating: "W", count: 43)

    let clock = ConsoleClock()
    let store = InMemoryStore()
    let remote = FakeRemoteExec()
    let alice = TestApproverKey("alice"), bob = TestApproverKey("bob"), mallory = TestApproverKey("mallory")
    let catalogue: ActionCatalogue
    let inventory: Inventory
    let context: ApprovalContext
    let policy = ApprovalPolicy(requiredApprovals: [.low: 1, .medium: 1, .high: 2], proposalLifetime: .seconds(3600),
                                approvalLifetime: .seconds(900))
    let settings: ConsoleSettings
    private var issued = 0

    /// A fixture whose web1 also lists `approvers` (keys made by a test, held in an ssh-agent), and with a second
    /// host db1 when `db1Approvers` is not empty.
    init(settings: ConsoleSettings = ConsoleSettings(), approvers extra: [Approver] = [], db1Approvers: [Approver] = []) throws {
        self.settings = settings
        catalogue = try ActionCatalogue.parse(Self.catalogueText, source: "pra-catalogue.tsv")
        var web1 = InventoryHost(name: "web1", address: "192.0.2.11", groups: ["all", "web"], allowedServices: ["nginx.service"])
        web1.approvers = [alice.approver(), bob.approver()] + extra
        var db1 = InventoryHost(name: "db1", address: "192.0.2.12", groups: ["all"])
        db1.approvers = db1Approvers
        let hosts = db1Approvers.isEmpty ? [web1] : [web1, db1]
        inventory = Inventory(hosts: hosts, groups: ["all": hosts.map(\.name), "web": ["web1"], "ungrouped": []])
        context = ApprovalContext(hosts: hosts, pinnedHostKeys: Dictionary(uniqueKeysWithValues: hosts.map { ($0.name, [Self.hostKey]) }),
                                  preferredWindow: 900)
        let hash = ComponentDrift.sha256Hex(Array(Self.catalogueText.utf8))
        remote.on(account: .reader, request: AuditedExec.versionRequest,
                  .ok("mcp-wrapper 1.0.0 role=reader user=mcp-reader\nsha256 \(hash) /usr/local/lib/mcp-linux-infra/pra-catalogue.tsv\n"))
    }

    var exec: AuditedExec {
        AuditedExec(remote: remote, recorder: AuditRecorder(sink: store), actor: AuditActor.server("svc"),
                    users: { $0 == .reader ? "mcp-reader" : "pra-runner" }, defaultTimeout: .seconds(5), clock: ManualTiming().timing)
    }

    var review: ActionReview {
        ActionReview(store: store, audit: store, catalogue: catalogue, cataloguePath: "pra-catalogue.tsv", inventory: inventory,
                     approvalContext: context, policy: policy, knownHostsPath: "known_hosts", now: { [clock] in clock.now })
    }

    var services: ConsoleServices {
        ConsoleServices(review: review, audit: store, recorder: AuditRecorder(sink: store),
                        verification: AuditVerification(store: store, audit: store, inventory: inventory), ledgers: HostLedgerReader(remote: remote),
                        diagnostics: Diagnostics(exec: exec, inventory: inventory, releaseComponents: [:]), inventory: inventory,
                        pinnedHostKeys: context.pinnedHostKeys, runner: "pra-runner")
    }

    /// The AI proposes `action` on web1 with `rationale`.
    func propose(_ action: String = "restart_service", rationale: String = "nginx answers 502 on web1 since 10:02") async throws -> ProposalRecord {
        let workflow = ActionWorkflow(store: store, exec: exec, catalogue: catalogue, inventory: inventory,
                                      releaseComponents: ["pra-catalogue.tsv": ComponentDrift.sha256Hex(Array(Self.catalogueText.utf8))],
                                      approvalContext: context, policy: policy, user: "svc", runner: "pra-runner", now: { [clock] in clock.now },
                                      makeID: { [self] in issued += 1; return String(format: "3f2a9c1e-0000-4000-8000-%012d", issued) })
        return try await workflow.propose(host: "web1", action: action, parameters: action == "restart_service" ? ["unit": "nginx.service"] : [:],
                                          rationale: rationale, by: workflow.localCaller(client: "test-client"))
    }

    /// Runs `body` against a router that holds only the console (in process, or on a live loopback port).
    func run(_ setup: TestingSetup = .router, _ body: @escaping @Sendable (ConsoleBrowser) async throws -> Void) async throws {
        let router = Router()
        ReviewConsole(services: services, settings: settings, logger: Logger(label: "console-test"), now: { [clock] in clock.now })
            .register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(setup) { client in
            try await body(ConsoleBrowser(client: client))
        }
    }

    /// The audit rows of one kind.
    func rows(kind: String) -> [AuditChain.Record] { store.chain.filter { $0.kind == kind } }
}

/// A browser for the tests: keeps the cookies the console sets, sends forms, and reads fields from pages.
final class ConsoleBrowser: @unchecked Sendable {
    let client: any TestClientProtocol
    private(set) var cookies: [String: String] = [:]

    init(client: any TestClientProtocol) {
        self.client = client
    }

    /// One response, as text.
    struct Page {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var text: String

        /// The value attribute of the input named `name`, unescaped.
        func input(_ name: String) -> String? {
            guard let match = text.firstMatch(of: try! Regex("name=\"\(name)\" value=\"([^\"]*)\"")),
                  let value = match.output[1].substring else { return nil }
            return ConsoleBrowser.unescape(String(value))
        }

        /// The text of the element with id `id` (a `<pre>`, a `<span>`), unescaped.
        func element(_ id: String) -> String? {
            guard let match = text.firstMatch(of: try! Regex("id=\"\(id)\"[^>]*>([^<]*)<")), let value = match.output[1].substring else { return nil }
            return ConsoleBrowser.unescape(String(value))
        }
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// GET `uri` with the cookies kept (and `headers`).
    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> Page {
        try await send(uri, method: .get, headers: headers, body: nil)
    }

    /// POST `fields` as a form to `uri`.
    func post(_ uri: String, _ fields: [(String, String)], headers: HTTPFields = [:]) async throws -> Page {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        var headers = headers
        headers[.contentType] = "application/x-www-form-urlencoded"
        return try await send(uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    private func send(_ uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> Page {
        var headers = headers
        if !cookies.isEmpty { headers[.cookie] = cookies.keys.sorted().map { "\($0)=\(cookies[$0]!)" }.joined(separator: "; ") }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        for line in response.headers[values: .setCookie] {
            let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || line.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return Page(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }

    /// Forgets or sets a cookie, as another browser would.
    func setCookie(_ name: String, _ value: String?) { cookies[name] = value }

    /// Logs in as `key` (its own principal): reads the challenge, signs it for `namespace`, pastes it.
    @discardableResult
    func logIn(as key: TestApproverKey, namespace: String = ConsoleLogin.namespace) async throws -> Page {
        let login = try await get("/login")
        let challenge = try #require(login.element("challenge")), nonce = try #require(login.input("nonce"))
        return try await post("/login", [("nonce", nonce), ("signature", key.signature(over: challenge + "\n", namespace: namespace))])
    }

    /// The approval form of action `id` as the page fills it (csrf, statement, digest), with the statement the
    /// page shows signed by `key` for `namespace`; checks that the page shows exactly the statement it sends back.
    func approvalForm(_ id: String, by key: TestApproverKey, namespace: String = ApprovalStatement.namespace) async throws -> [(String, String)] {
        let page = try await get("/actions/\(id)")
        let encoded = try #require(page.input("statement"))
        let statement = try #require(Data(base64Encoded: encoded).flatMap { String(data: $0, encoding: .utf8) })
        #expect(page.element("statement") == statement, "the page shows exactly the statement its form sends back")
        return [("csrf", try #require(page.input("csrf"))), ("statement", encoded), ("digest", try #require(page.input("digest"))),
                ("signature", key.signature(over: statement, namespace: namespace))]
    }

    /// The CSRF token of the logged-in session, read from a page's forms.
    func csrf() async throws -> String {
        try #require(try await get("/").input("csrf"))
    }
}

import Foundation
import InfraApp
import InfraDomain

/// The remote-execution port answering from a script, for the use-case tests: no SSH, no host.
///
/// A test scripts answers by host, account and request (the first word of the request line, or the whole
/// line, or any); each rule's answers are given in order and its last one repeats. Every request the port
/// receives is recorded with its stdin, in order. A request no rule answers fails the way an unreachable
/// host does, naming the request, so a test that did not expect it sees it.
public final class FakeRemoteExec: RemoteExec, @unchecked Sendable {
    /// One answer of the script.
    public enum Answer: Sendable {
        /// The forced command answered with this exit code and output.
        case exit(Int32, stdout: String = "", stderr: String = "")
        /// No answer: the transport failed (unreachable, host key, timeout, lost connection).
        case failure(String)
        /// The host's account already runs its maximum of requests (``TargetExitCode/busy``).
        public static var busy: Answer { .exit(TargetExitCode.busy.rawValue, stderr: "busy: too many requests") }
        /// Exit 0 with this output.
        public static func ok(_ stdout: String = "") -> Answer { .exit(0, stdout: stdout) }
    }

    /// Which requests a rule answers; nil fields match anything.
    public struct Match: Sendable {
        public var host: String?
        public var account: Account?
        /// The request's first word (`version`, `unit-active`, an action name) or its whole line.
        public var request: String?

        /// Creates a match.
        public init(host: String? = nil, account: Account? = nil, request: String? = nil) {
            self.host = host
            self.account = account
            self.request = request
        }

        func matches(_ request: RemoteRequest) -> Bool {
            let verb = request.command.split(separator: " ").first.map(String.init) ?? ""
            return (host.map { $0 == request.host.name } ?? true) && (account.map { $0 == request.account } ?? true)
                && (self.request.map { $0 == verb || $0 == request.command } ?? true)
        }
    }

    private struct Rule {
        var match: Match
        var answers: [Answer]
        var delay: Duration
        var given = 0
    }

    private let lock = NSLock()
    private var rules: [Rule] = []
    private var received: [RemoteRequest] = []
    private var arrived: [ContinuousClock.Instant] = []
    private var shutdowns = 0

    /// A port with no rule yet.
    public init() {}

    /// Answers `request` (a verb or a whole line) on `host` (any when nil) as `account` (any when nil) with
    /// `answers` in order (the last repeats), each after `delay`. A later rule matching the same request wins.
    public func on(host: String? = nil, account: Account? = nil, request: String? = nil, delay: Duration = .zero, _ answers: Answer...) {
        on(host: host, account: account, request: request, delay: delay, answers)
    }

    /// The same, with the answers as an array.
    public func on(host: String? = nil, account: Account? = nil, request: String? = nil, delay: Duration = .zero, _ answers: [Answer]) {
        precondition(!answers.isEmpty, "a rule needs at least one answer")
        lock.withLock { rules.insert(Rule(match: Match(host: host, account: account, request: request), answers: answers, delay: delay), at: 0) }
    }

    /// Every request received, in order.
    public var requests: [RemoteRequest] { lock.withLock { received } }

    /// When each request was received, in the same order.
    public var arrivals: [ContinuousClock.Instant] { lock.withLock { arrived } }

    /// The requests received that match.
    public func requests(_ match: Match) -> [RemoteRequest] { lock.withLock { received.filter(match.matches) } }

    /// How often ``shutdown(within:)`` was called.
    public var shutdownCount: Int { lock.withLock { shutdowns } }

    public func run(_ request: RemoteRequest) async throws -> ExecResult {
        let (answer, delay): (Answer?, Duration) = lock.withLock {
            received.append(request)
            arrived.append(.now)
            guard let index = rules.firstIndex(where: { $0.match.matches(request) }) else { return (nil, .zero) }
            let answer = rules[index].answers[min(rules[index].given, rules[index].answers.count - 1)]
            rules[index].given += 1
            return (answer, rules[index].delay)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        switch answer {
        case .none:
            throw RemoteFailure("unscripted request to \(request.host.name) as \(request.account.rawValue): \(request.command)")
        case .failure(let message):
            throw RemoteFailure(message)
        case .exit(let code, let stdout, let stderr):
            return ExecResult(stdout: Array(stdout.utf8), stderr: Array(stderr.utf8), exitCode: code, duration: delay)
        }
    }

    public func authenticationMethod(host: String, user: String) async -> String? { nil }

    public func shutdown(within limit: Duration) async {
        lock.withLock { shutdowns += 1 }
    }
}

import Crypto

/// The approved-action catalogue, parsed from `system/pra-catalogue.tsv`: the same file pra-exec,
/// pra-run and `render-sudoers` read on the target, so the server and the targets cannot disagree.
public struct ActionCatalogue: Sendable, Equatable {
    /// How much an action can disturb a host; decides how many approvers it needs.
    public enum Impact: String, Sendable, Equatable, CaseIterable {
        case low = "LOW", medium = "MEDIUM", high = "HIGH"
    }

    /// One typed parameter of an action.
    public struct Parameter: Sendable, Equatable {
        /// `string`, `allowed-service` or `allowed-container` (the value must also be in the host's list).
        public enum Kind: String, Sendable, Equatable { case string, allowedService = "allowed-service", allowedContainer = "allowed-container" }
        public var name: String
        public var kind: Kind
        /// An anchored POSIX extended regular expression, as the target checks it.
        public var pattern: String
    }

    /// One action.
    public struct Action: Sendable, Equatable {
        public var name: String
        public var impact: Impact
        public var parameters: [Parameter]
        /// The argv template run as root, `{name}` replaced by validated values.
        public var run: [String]
        /// The verification probe argv, or empty when there is none.
        public var verify: [String]
        public var idempotent: Bool
        public var description: String
    }

    public var actions: [Action]
    /// `sha256:` and the hex SHA-256 of the file's bytes: which catalogue an approval was given under.
    public var version: String

    /// The action with this name, if any.
    public func action(named name: String) -> Action? { actions.first { $0.name == name } }

    /// Parses the catalogue text. `source` names the file in errors.
    public static func parse(_ text: String, source: String) throws(ConfigurationError) -> ActionCatalogue {
        var actions: [Action] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let number = index + 1
            func bad(_ field: String, _ problem: String) -> ConfigurationError {
                ConfigurationError(.malformedLine, file: source, line: number, field: field, problem: problem,
                                   fix: "each action line has seven tab-separated fields: name impact params run verify idempotent description")
            }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 7 else { throw bad("line", "expected 7 tab-separated fields, found \(fields.count)") }
            let name = fields[0]
            guard name.range(of: "^[a-z][a-z0-9_]{0,63}$", options: .regularExpression) != nil else {
                throw bad("name", "'\(name)' is not a lowercase action name")
            }
            guard !actions.contains(where: { $0.name == name }) else { throw bad(name, "defined twice") }
            guard let impact = Impact(rawValue: fields[1]) else { throw bad(name, "impact must be LOW, MEDIUM or HIGH") }
            var parameters: [Parameter] = []
            if fields[2] != "-" {
                for spec in fields[2].split(separator: ";") {
                    let parts = spec.split(separator: ":", maxSplits: 2).map(String.init)
                    guard parts.count == 3, let kind = Parameter.Kind(rawValue: parts[1]),
                          parts[0].range(of: "^[a-z][a-z0-9_]{0,31}$", options: .regularExpression) != nil,
                          parts[2].hasPrefix("^"), parts[2].hasSuffix("$") else {
                        throw bad(name, "parameter '\(spec)' is not NAME:TYPE:^REGEX$")
                    }
                    parameters.append(Parameter(name: parts[0], kind: kind, pattern: parts[2]))
                }
            }
            let run = fields[3].split(separator: " ").map(String.init)
            guard !run.isEmpty else { throw bad(name, "run is empty") }
            let verify = fields[4] == "-" ? [] : fields[4].split(separator: " ").map(String.init)
            guard fields[5] == "yes" || fields[5] == "no" else { throw bad(name, "idempotent must be yes or no") }
            actions.append(Action(name: name, impact: impact, parameters: parameters, run: run, verify: verify,
                                  idempotent: fields[5] == "yes", description: fields[6]))
        }
        let digest = Hex.lowercase(SHA256.hash(data: Array(text.utf8)))
        return ActionCatalogue(actions: actions, version: "sha256:" + digest)
    }
}

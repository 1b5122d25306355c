import Foundation

/// A catalogue action bound to one inventory host and validated parameters: what a proposal asks for, the
/// exact command pra-run will run as root, and the request line pra-exec receives.
public struct ActionRequest: Sendable, Equatable {
    public var action: ActionCatalogue.Action
    public var host: InventoryHost
    public var parameters: [String: String]

    /// Validates a request against the catalogue (action, parameter names and patterns, allowed services).
    public static func make(actionName: String, host: InventoryHost, parameters: [String: String],
                            catalogue: ActionCatalogue) throws(ActionRequestError) -> ActionRequest {
        guard let action = catalogue.action(named: actionName) else {
            throw .unknownAction(actionName, known: catalogue.actions.map(\.name))
        }
        let expected = Set(action.parameters.map(\.name))
        for name in parameters.keys.sorted() where !expected.contains(name) {
            throw .unknownParameter(name, action: action.name, expected: action.parameters.map(\.name))
        }
        for parameter in action.parameters {
            guard let value = parameters[parameter.name] else { throw .missingParameter(parameter.name, action: action.name) }
            // The catalogue's anchored ERE, checked the same way pra-exec and pra-run check it.
            guard value.count <= 200, value.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline }),
                  value.range(of: parameter.pattern, options: .regularExpression) != nil else {
                throw .badParameter(parameter.name, pattern: parameter.pattern)
            }
            if parameter.kind == .allowedService && !host.allowedServices.contains(value) {
                throw .serviceNotAllowed(value, host: host.name, allowed: host.allowedServices)
            }
            if parameter.kind == .allowedContainer && !host.allowedContainers.contains(value) {
                throw .containerNotAllowed(value, host: host.name, allowed: host.allowedContainers)
            }
        }
        return ActionRequest(action: action, host: host, parameters: parameters)
    }

    /// The argv pra-run runs as root on the host (`{name}` replaced; `@container` stays symbolic).
    public var command: [String] { Self.fill(action.run, parameters) }

    /// The verification argv pra-run runs as root after the action, or empty.
    public var verification: [String] { Self.fill(action.verify, parameters) }

    /// The forced-command request for pra-exec: `ACTION NAME=VALUE... id=CORRELATION`.
    public func execRequest(correlation: String) -> String {
        ([action.name] + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" } + ["id=\(correlation)"]).joined(separator: " ")
    }

    /// The read-only check the server runs through mcp-reader after the action, when one can be derived:
    /// `systemctl is-active [--quiet] [--] UNIT` becomes mcp-wrapper's `unit-active unit=UNIT`.
    public var readerProbe: String? {
        let words = verification.filter { $0 != "--quiet" && $0 != "--" }
        guard words.count == 3, words[0] == "systemctl", words[1] == "is-active" else { return nil }
        return "unit-active unit=\(words[2])"
    }

    /// The digest over this request and a catalogue version.
    public func digest(catalogueVersion: String) -> String {
        ApprovalDigest.compute(action: action.name, host: host.name, parameters: parameters, catalogueVersion: catalogueVersion)
    }

    static func fill(_ template: [String], _ parameters: [String: String]) -> [String] {
        template.map { word in
            parameters.reduce(word) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
        }
    }
}

/// Why an action request is not valid; each case names the field and the fix.
public enum ActionRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownAction(String, known: [String])
    case unknownParameter(String, action: String, expected: [String])
    case missingParameter(String, action: String)
    case badParameter(String, pattern: String)
    case serviceNotAllowed(String, host: String, allowed: [String])
    case containerNotAllowed(String, host: String, allowed: [String])

    public var description: String {
        switch self {
        case .unknownAction(let name, let known):
            "argument 'action': no action '\(name)' in the catalogue; the actions are: \(known.joined(separator: ", ")) (see list_pra_catalog)"
        case .unknownParameter(let name, let action, let expected):
            "argument 'parameters': \(action) takes no parameter '\(name)'" + (expected.isEmpty ? "; it takes none" : "; it takes: \(expected.joined(separator: ", "))")
        case .missingParameter(let name, let action): "argument 'parameters': \(action) needs the parameter '\(name)'"
        case .badParameter(let name, let pattern): "argument 'parameters': '\(name)' must match \(pattern)"
        case .serviceNotAllowed(let unit, let host, let allowed):
            "argument 'parameters': \(unit) is not in \(host)'s mcp_allowed_services (\(allowed.isEmpty ? "none" : allowed.joined(separator: ", ")))"
        case .containerNotAllowed(let name, let host, let allowed):
            "argument 'parameters': container \(name) is not in \(host)'s mcp_allowed_containers (\(allowed.isEmpty ? "none" : allowed.joined(separator: ", ")))"
        }
    }
}

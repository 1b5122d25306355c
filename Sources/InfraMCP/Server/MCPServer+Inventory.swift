import Foundation
import InfraApp
import InfraDomain
import MCP

extension MCPServer {
    /// `list_hosts`: the inventory (the only hosts any tool can reach) with what the server last saw of each host.
    static let listHostsTool = Tool(
        name: "list_hosts", title: "Inventory hosts",
        description: "The hosts and groups of the operator's inventory: the only names the other tools accept. Each host has its "
            + "reachability as last seen by the server; probe: true checks every host now (mcp-wrapper's version request, as doctor does) "
            + "and lists in drift the target-side components that differ from the server's release.",
        inputSchema: .object([
            "type": "object",
            "properties": .object(["probe": .object(["type": "boolean", "description": "Contact every host now (default false)."])]),
            "additionalProperties": false,
        ]),
        annotations: .init(title: "Inventory hosts", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false),
        outputSchema: .object([
            "type": "object",
            "properties": .object([
                "hosts": DiagnosticTools.array(DiagnosticTools.object([
                    "name": DiagnosticTools.string, "address": DiagnosticTools.string, "port": DiagnosticTools.integer,
                    "groups": DiagnosticTools.strings, "allowedServices": DiagnosticTools.strings,
                    "allowedContainers": DiagnosticTools.strings, "httpChecks": DiagnosticTools.strings, "pingTargets": DiagnosticTools.strings,
                    "reachability": reachabilitySchema, "drift": DiagnosticTools.strings,
                ], optional: ["drift"])),
                "groups": .object(["type": "object", "additionalProperties": DiagnosticTools.strings]),
            ]),
            "required": ["hosts", "groups"],
        ]))

    /// Answers list_hosts; with `probe: true`, first runs the version request on every host (bounded fan-out).
    func listHosts(_ arguments: [String: Value]) async throws(ToolCallError) -> Value {
        for key in arguments.keys.sorted() where key != "probe" { throw .unknownArgument(key, allowed: ["probe"]) }
        var probe = false
        if let value = arguments["probe"] {
            guard let flag = value.boolValue else { throw .badArgument("probe", "must be true or false") }
            probe = flag
        }
        let diagnostics = services.diagnostics
        let drift = probe ? await diagnostics.drift() : [:]
        var hosts: [Value] = []
        for host in diagnostics.inventory.hosts {
            var fields = Self.fields(of: host)
            fields["reachability"] = Self.reachability(await diagnostics.reachability(of: host.name))
            if let differences = drift[host.name] { fields["drift"] = .array(differences.map { .string($0.description) }) }
            hosts.append(.object(fields))
        }
        return .object(["hosts": .array(hosts), "groups": groupsValue])
    }

    /// What the inventory says of one host.
    static func fields(of host: InventoryHost) -> [String: Value] {
        ["name": .string(host.name), "address": .string(host.address), "port": .int(host.port),
         "groups": .array(host.groups.map { .string($0) }), "allowedServices": .array(host.allowedServices.map { .string($0) }),
         "allowedContainers": .array(host.allowedContainers.map { .string($0) }), "httpChecks": .array(host.httpChecks.map { .string($0) }),
         "pingTargets": .array(host.pingTargets.map { .string($0) })]
    }

    /// The inventory's groups and their members.
    var groupsValue: Value { .object(services.diagnostics.inventory.groups.mapValues { .array($0.map { .string($0) }) }) }

    /// `{"state": "reachable" | "unreachable" | "unknown", "checkedAt", "latencyMs", "detail"}`.
    static func reachability(_ seen: ReachabilityLog.Observation?) -> Value {
        guard let seen else { return .object(["state": "unknown"]) }
        return .object(["state": .string(seen.reachable ? "reachable" : "unreachable"),
                        "checkedAt": .string(UTCTime.text(seen.at)),
                        "latencyMs": .int(Int(AuditedExec.milliseconds(seen.latency))), "detail": .string(seen.detail)])
    }

    /// The schema of ``reachability(_:)``.
    static let reachabilitySchema: Value = .object([
        "type": "object",
        "properties": .object([
            "state": .object(["type": "string", "enum": ["reachable", "unreachable", "unknown"]]),
            "checkedAt": .object(["type": "string", "description": "When (ISO 8601, UTC)."]),
            "latencyMs": .object(["type": "integer", "minimum": 0]),
            "detail": .object(["type": "string", "description": "The forced command's version line, or why the host was not reached."]),
        ]),
        "required": ["state"],
    ])

    /// A read-only MCP resource and its text.
    struct ResourceEntry {
        var resource: Resource
        var text: String
    }

    /// The inventory (as the server read it) and the action catalogue, read-only.
    var resources: [ResourceEntry] {
        let hosts: Value = .object(["hosts": .array(services.diagnostics.inventory.hosts.map { .object(Self.fields(of: $0)) }),
                                    "groups": groupsValue])
        return [
            ResourceEntry(resource: Resource(name: "inventory", uri: "inventory://hosts", title: "Inventory",
                                             description: "Hosts and groups the server may reach (its allowlist).",
                                             mimeType: "application/json"),
                          text: Self.json(hosts)),
            ResourceEntry(resource: Resource(name: "catalogue", uri: "catalogue://actions", title: "Action catalogue",
                                             description: "The only actions that can ever be proposed and, once a human approves, run as root: "
                                                + "impact, parameters, the exact command and its verification probe.",
                                             mimeType: "application/json"),
                          text: Self.json(Self.catalogueValue(services.workflow.actionCatalogue))),
        ]
    }

    /// The catalogue as JSON: its version and every action.
    static func catalogueValue(_ catalogue: ActionCatalogue) -> Value {
        .object([
            "version": .string(catalogue.version),
            "actions": .array(catalogue.actions.map { action in
                .object(["name": .string(action.name), "impact": .string(action.impact.rawValue),
                         "description": .string(action.description),
                         "parameters": .array(action.parameters.map {
                             .object(["name": .string($0.name), "kind": .string($0.kind.rawValue), "pattern": .string($0.pattern)])
                         }),
                         "run": .array(action.run.map { .string($0) }), "verify": .array(action.verify.map { .string($0) }),
                         "idempotent": .bool(action.idempotent)])
            }),
        ])
    }
}

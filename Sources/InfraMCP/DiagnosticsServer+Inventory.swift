import Foundation
import InfraDomain
import MCP

extension DiagnosticsServer {
    /// `list_hosts`: the inventory (the only hosts any tool can reach), without contacting them.
    static let listHostsTool = Tool(
        name: "list_hosts", title: "Inventory hosts",
        description: "The hosts and groups of the operator's inventory: the only names the other tools accept.",
        inputSchema: .object(["type": "object", "properties": .object([:]), "additionalProperties": false]),
        annotations: .init(title: "Inventory hosts", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false),
        outputSchema: .object([
            "type": "object",
            "properties": .object([
                "hosts": .object(["type": "array", "items": DiagnosticTools.object([
                    "name": DiagnosticTools.string, "address": DiagnosticTools.string, "port": DiagnosticTools.integer,
                    "groups": .object(["type": "array", "items": DiagnosticTools.string]),
                    "allowedServices": .object(["type": "array", "items": DiagnosticTools.string]),
                ])]),
                "groups": .object(["type": "object", "additionalProperties": .object(["type": "array", "items": DiagnosticTools.string])]),
            ]),
            "required": ["hosts", "groups"],
        ]))

    func listHosts() -> Value {
        let inventory = configuration.inventory
        return .object([
            "hosts": .array(inventory.hosts.map { host in
                .object(["name": .string(host.name), "address": .string(host.address), "port": .int(host.port),
                         "groups": .array(host.groups.map { .string($0) }),
                         "allowedServices": .array(host.allowedServices.map { .string($0) })])
            }),
            "groups": .object(inventory.groups.mapValues { .array($0.map { .string($0) }) }),
        ])
    }

    /// A read-only MCP resource and its text.
    struct ResourceEntry {
        var resource: Resource
        var text: String
    }

    /// The inventory (as the server read it) and the action catalogue, read-only.
    var resources: [ResourceEntry] {
        var entries: [ResourceEntry] = []
        if let data = try? JSONEncoder().encode(listHosts()) {
            entries.append(ResourceEntry(resource: Resource(name: "inventory", uri: "inventory://hosts", title: "Inventory",
                                                            description: "Hosts and groups the server may reach (its allowlist).",
                                                            mimeType: "application/json"),
                                         text: String(decoding: data, as: UTF8.self)))
        }
        return entries
    }
}

import Yams

/// Reads an Ansible YAML inventory (`all:` with `hosts`, `vars` and `children`) into an ``Inventory``.
///
/// Variable precedence follows Ansible for the variables we read: `all` vars, then group vars from the
/// shallowest group to the deepest (ties by name), then host vars. Of Ansible's own variables only
/// `ansible_host` and `ansible_port` matter here; other `ansible_*` variables are ignored. Variables of
/// ours start with `mcp_`; an unknown `mcp_` variable is an error, so a typo is never silently ignored.
/// Variables starting with `mcp_infra_` belong to the Ansible role that prepares the targets
/// (ansible/roles/mcp_infra) and are left to it.
public enum InventoryParser {
    /// The `mcp_` variables this version understands.
    public static let knownVariables: Set<String> = ["mcp_allowed_services", "mcp_approvers", "mcp_approvals_low",
                                                     "mcp_approvals_medium", "mcp_approvals_high", "mcp_allowed_containers",
                                                     "mcp_http_checks", "mcp_ping_targets", "mcp_approval_max_window"]
    /// The prefix of the deployment role's variables, which the server does not read.
    public static let roleVariablePrefix = "mcp_infra_"

    /// Parses inventory text. `source` names the file in errors.
    public static func parse(_ text: String, source: String) throws(ConfigurationError) -> Inventory {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(.malformedLine, file: source, line: yamlLine(error), field: "YAML",
                                     problem: "not valid YAML: \(yamlProblem(error))",
                                     fix: "fix the YAML syntax (indentation, colons, quotes) at that line")
        }
        guard let rootMap = root?.mapping else {
            throw ConfigurationError(.malformedLine, file: source, line: 1, field: "all",
                                     problem: "the inventory is empty or not a mapping",
                                     fix: "start the file with 'all:' and list hosts under 'all: hosts:'")
        }
        var walker = Walker(source: source)
        for (key, value) in rootMap {
            guard let name = key.string else { continue }
            // Top-level keys are groups (normally just `all`).
            try walker.walkGroup(name: name, node: value, depth: name == "all" ? 0 : 1, parents: name == "all" ? [] : ["all"], line: key.mark?.line)
        }
        return try walker.build()
    }

    private static func yamlLine(_ error: Error) -> Int? {
        if case let YamlError.scanner(_, _, mark, _) = error { return mark.line }
        if case let YamlError.parser(_, _, mark, _) = error { return mark.line }
        return nil
    }

    private static func yamlProblem(_ error: Error) -> String {
        if case let YamlError.scanner(_, problem, _, _) = error { return problem }
        if case let YamlError.parser(_, problem, _, _) = error { return problem }
        return "\(error)"
    }

    private struct HostRecord {
        var name: String
        var vars: [String: (Node, Int?)] = [:]
        var groups: Set<String> = ["all"]
    }

    private struct GroupRecord {
        var depth: Int
        var vars: [String: (Node, Int?)] = [:]
        var hosts: Set<String> = []
    }

    private struct Walker {
        let source: String
        var hostOrder: [String] = []
        var hosts: [String: HostRecord] = [:]
        var groups: [String: GroupRecord] = [:]
        /// Parent chain of each group, to give child hosts their ancestors' membership.
        var parentsOf: [String: Set<String>] = [:]

        init(source: String) { self.source = source }

        mutating func walkGroup(name: String, node: Node, depth: Int, parents: [String], line: Int?) throws(ConfigurationError) {
            try checkName(name, kind: "group", line: line)
            var record = groups[name] ?? GroupRecord(depth: depth)
            record.depth = max(record.depth, depth)
            groups[name] = record
            parentsOf[name, default: []].formUnion(parents)
            if node.null != nil { return }
            guard let map = node.mapping else {
                throw error(line: node.mark?.line ?? line, field: name, "a group must be a mapping with hosts, vars or children",
                            fix: "write '\(name):' followed by indented 'hosts:', 'vars:' or 'children:'")
            }
            for (key, value) in map {
                let keyLine = key.mark?.line
                switch key.string {
                case "hosts":
                    if value.null != nil { continue }
                    guard let hostMap = value.mapping else {
                        throw error(line: keyLine, field: "\(name).hosts", "hosts must be a mapping of host names",
                                    fix: "list each host as 'NAME:' (optionally with its variables) under hosts:")
                    }
                    for (hostKey, hostValue) in hostMap {
                        guard let hostName = hostKey.string else { continue }
                        try addHost(hostName, vars: hostValue, group: name, parents: parents, line: hostKey.mark?.line)
                    }
                case "vars":
                    if value.null != nil { continue }
                    groups[name]!.vars.merge(try variables(value, owner: "\(name).vars", line: keyLine)) { _, new in new }
                case "children":
                    if value.null != nil { continue }
                    guard let children = value.mapping else {
                        throw error(line: keyLine, field: "\(name).children", "children must be a mapping of group names",
                                    fix: "list each child group as 'NAME:' under children:")
                    }
                    for (childKey, childValue) in children {
                        guard let child = childKey.string else { continue }
                        try walkGroup(name: child, node: childValue, depth: depth + 1, parents: parents + [name], line: childKey.mark?.line)
                    }
                default:
                    throw error(line: keyLine, field: "\(name).\(key.string ?? "?")", "unknown key in a group",
                                fix: "a group holds only hosts, vars and children")
                }
            }
        }

        mutating func addHost(_ name: String, vars node: Node, group: String, parents: [String], line: Int?) throws(ConfigurationError) {
            try checkName(name, kind: "host", line: line)
            if hosts[name] == nil {
                hostOrder.append(name)
                hosts[name] = HostRecord(name: name)
            }
            hosts[name]!.groups.insert(group)
            hosts[name]!.groups.formUnion(parents)
            groups[group, default: GroupRecord(depth: parents.count)].hosts.insert(name)
            if node.null != nil { return }
            hosts[name]!.vars.merge(try variables(node, owner: name, line: line)) { _, new in new }
        }

        func variables(_ node: Node, owner: String, line: Int?) throws(ConfigurationError) -> [String: (Node, Int?)] {
            guard let map = node.mapping else {
                throw error(line: node.mark?.line ?? line, field: owner, "variables must be a mapping",
                            fix: "write variables as 'name: value' lines indented under \(owner)")
            }
            var result: [String: (Node, Int?)] = [:]
            for (key, value) in map {
                guard let name = key.string else { continue }
                if name.hasPrefix("mcp_") && !name.hasPrefix(roleVariablePrefix) && !knownVariables.contains(name) {
                    let suggestion = knownVariables.min { EditDistance.between($0, name) < EditDistance.between($1, name) }!
                    throw ConfigurationError(.unknownKey, file: source, line: key.mark?.line, field: "\(owner): \(name)",
                                             problem: "unknown variable of ours (did you mean \(suggestion)?)",
                                             fix: "use one of: \(knownVariables.sorted().joined(separator: ", "))")
                }
                result[name] = (value, key.mark?.line)
            }
            return result
        }

        func checkName(_ name: String, kind: String, line: Int?) throws(ConfigurationError) {
            guard InventoryName.isValid(name) else {
                throw error(line: line, field: name, "invalid \(kind) name (ranges like web[1:3] and patterns are not supported)",
                            fix: "use letters, digits, '.', '-' and '_' only, one \(kind) per line")
            }
        }

        func error(line: Int?, field: String, _ problem: String, fix: String) -> ConfigurationError {
            ConfigurationError(.invalidValue, file: source, line: line, field: field, problem: problem, fix: fix)
        }

        func build() throws(ConfigurationError) -> Inventory {
            // Close group membership upwards: a host of a child group is a host of every ancestor.
            var members: [String: Set<String>] = [:]
            for (name, record) in hosts {
                var all = record.groups
                var frontier = Array(record.groups)
                while let group = frontier.popLast() {
                    for parent in parentsOf[group] ?? [] where !all.contains(parent) {
                        all.insert(parent)
                        frontier.append(parent)
                    }
                }
                for group in all { members[group, default: []].insert(name) }
            }
            for group in groups.keys where members[group] == nil { members[group] = [] }
            var result: [InventoryHost] = []
            for name in hostOrder {
                let record = hosts[name]!
                let hostGroups = Set(members.filter { $0.value.contains(name) }.keys)
                var merged: [String: (Node, Int?)] = groups["all"]?.vars ?? [:]
                let ordered = hostGroups.filter { $0 != "all" }.sorted {
                    let (a, b) = (groups[$0]?.depth ?? 0, groups[$1]?.depth ?? 0)
                    return a == b ? $0 < $1 : a < b
                }
                for group in ordered { merged.merge(groups[group]?.vars ?? [:]) { _, new in new } }
                merged.merge(record.vars) { _, new in new }
                result.append(try makeHost(name: name, vars: merged, groups: hostGroups.sorted()))
            }
            var groupMap = members.mapValues { $0.sorted() }
            groupMap["all"] = hostOrder.sorted()
            groupMap["ungrouped"] = result.filter { Set($0.groups).subtracting(["all", "ungrouped"]).isEmpty }.map(\.name).sorted()
            return Inventory(hosts: result, groups: groupMap)
        }

        func makeHost(name: String, vars: [String: (Node, Int?)], groups: [String]) throws(ConfigurationError) -> InventoryHost {
            var address = name
            if let (node, varLine) = vars["ansible_host"] {
                guard let value = node.string, HostAddress.isValid(value) else {
                    throw error(line: varLine, field: "\(name): ansible_host", "'\(node.string ?? "?")' is not a host name or IP address",
                                fix: "set ansible_host to a DNS name or an IPv4/IPv6 address")
                }
                address = value
            }
            var port = 22
            if let (node, varLine) = vars["ansible_port"] {
                guard let value = node.int ?? node.string.flatMap(Int.init), (1...65_535).contains(value) else {
                    throw error(line: varLine, field: "\(name): ansible_port", "'\(node.string ?? "?")' is not a TCP port",
                                fix: "set ansible_port to a number from 1 to 65535")
                }
                port = value
            }
            var services: [String] = []
            if let (node, varLine) = vars["mcp_allowed_services"] {
                guard let list = node.sequence?.map({ $0.string ?? "" }),
                      list.allSatisfy({ ServiceName.isValid($0) }) else {
                    throw error(line: varLine, field: "\(name): mcp_allowed_services",
                                "must be a list of systemd unit names",
                                fix: "write e.g. [nginx.service, unbound.service]; names use letters, digits, '.', '-', '_', '@', ':'")
                }
                services = list
            }
            var approvers: [Approver] = []
            if let (node, varLine) = vars["mcp_approvers"] {
                approvers = try makeApprovers(node, host: name, line: varLine)
            }
            var host = InventoryHost(name: name, address: address, port: port, groups: groups, allowedServices: services, approvers: approvers)
            func list(_ variable: String, _ isValid: (String) -> Bool, _ what: String, example: String) throws(ConfigurationError) -> [String] {
                guard let (node, varLine) = vars[variable] else { return [] }
                guard let items = node.sequence?.map({ $0.string ?? "" }), items.allSatisfy(isValid) else {
                    throw error(line: varLine, field: "\(name): \(variable)", "must be a list of \(what)", fix: "write e.g. \(example)")
                }
                return items
            }
            host.allowedContainers = try list("mcp_allowed_containers", ContainerName.isValid,
                                              "container names", example: "[web, worker]")
            host.httpChecks = try list("mcp_http_checks", EgressAllowlist.isValidURLEntry, "http(s) URLs or URL prefixes ending in /",
                                       example: "[\"http://127.0.0.1:8080/health\", \"https://example.org/status/\"]")
            host.pingTargets = try list("mcp_ping_targets", EgressAllowlist.isValidPingEntry, "host names, addresses or IPv4 CIDRs",
                                        example: "[gateway.example.org, 10.0.0.0/24, 192.0.2.1]")
            for impact in ActionCatalogue.Impact.allCases {
                let variable = "mcp_approvals_" + impact.rawValue.lowercased()
                guard let (node, varLine) = vars[variable] else { continue }
                guard let count = node.int, (1...5).contains(count) else {
                    throw error(line: varLine, field: "\(name): \(variable)", "'\(node.string ?? "?")' is not a number from 1 to 5",
                                fix: "set \(variable) to how many distinct approvers a \(impact.rawValue) action needs here (1-5)")
                }
                host.requiredApprovals[impact] = count
            }
            if let (node, varLine) = vars["mcp_approval_max_window"] {
                guard let seconds = node.int, InventoryHost.approvalMaxWindowRange.contains(seconds) else {
                    throw error(line: varLine, field: "\(name): mcp_approval_max_window", "'\(node.string ?? "?")' is not a number of seconds from 60 to 86400",
                                fix: "set mcp_approval_max_window to the longest time a signed approval may wait for execution (default 3600)")
                }
                host.approvalMaxWindow = seconds
            }
            return host
        }

        /// `mcp_approvers: [{principal: alice@example.org, key: "ssh-ed25519 AAAA…"}]`: ed25519 or ECDSA keys, each
        /// principal once.
        func makeApprovers(_ node: Node, host: String, line: Int?) throws(ConfigurationError) -> [Approver] {
            let field = "\(host): mcp_approvers"
            let form = "write e.g. [{principal: alice@example.org, key: \"ssh-ed25519 AAAA… alice\"}]"
            guard let list = node.sequence else { throw error(line: line, field: field, "must be a list of {principal, key}", fix: form) }
            var approvers: [Approver] = []
            for entry in list {
                let entryLine = entry.mark?.line ?? line
                guard let map = entry.mapping, let principal = map["principal"]?.string, let keyText = map["key"]?.string,
                      map.count == 2 else {
                    throw error(line: entryLine, field: field, "each approver needs exactly 'principal' and 'key'", fix: form)
                }
                guard Approver.isValidPrincipal(principal) else {
                    throw error(line: entryLine, field: field,
                                "principal '\(principal)' is not of the form \(Approver.principalForm): letters, digits and _.@+-, not starting with '-'",
                                fix: "use a name such as alice@example.org")
                }
                let key: SSHPublicKey
                do {
                    key = try SSHPublicKey.parseLine(keyText)
                } catch .rsa {
                    throw error(line: entryLine, field: field, "\(principal): RSA keys are refused", fix: "give the approver's ed25519 or ECDSA key")
                } catch let problem {
                    throw error(line: entryLine, field: field, "\(principal): the key is not an ed25519 or ECDSA public key (\(problem))",
                                fix: "paste the whole line of the approver's .pub file: 'ssh-ed25519 AAAA… comment'")
                }
                guard !approvers.contains(where: { $0.principal == principal }) else {
                    throw error(line: entryLine, field: field, "principal \(principal) is listed twice", fix: "list each approver once")
                }
                // One key is one approver: the same key under two principals would let one person count twice.
                if let other = approvers.first(where: { $0.key.blob == key.blob }) {
                    throw error(line: entryLine, field: field,
                                "\(principal) and \(other.principal) have the same key (\(key.fingerprint)): one key is one approver",
                                fix: "give each person their own key, and list each key once")
                }
                approvers.append(Approver(principal: principal, key: key))
            }
            return approvers
        }
    }
}

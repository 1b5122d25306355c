/// The hosts the server may reach, read from the same Ansible YAML inventory the role deploys with.
///
/// This is defence layer 1: a host that is not in the inventory cannot be named, so it cannot be
/// reached, whatever the caller asks for.
public struct Inventory: Sendable, Equatable {
    /// Hosts in inventory order (first appearance).
    public private(set) var hosts: [InventoryHost]
    /// Every group and its member host names (children included), sorted. Includes `all` and `ungrouped`.
    public private(set) var groups: [String: [String]]

    /// Creates an inventory from hosts and group memberships.
    public init(hosts: [InventoryHost], groups: [String: [String]]) {
        self.hosts = hosts
        self.groups = groups
    }

    /// The host with this inventory name, if any.
    public func host(named name: String) -> InventoryHost? {
        hosts.first { $0.name == name }
    }

    /// Why a target expression was refused.
    public struct UnknownTarget: Error, Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var known: [String]
        public var description: String {
            "'\(name)' is not a host or group of the inventory; known hosts: \(known.joined(separator: ", "))"
        }
    }

    /// Resolves a host name, a group name, or a comma-separated list of them into hosts.
    /// Every element must be known; one unknown name refuses the whole expression.
    public func resolve(_ expression: String) throws(UnknownTarget) -> [InventoryHost] {
        var names: [String] = []
        for part in expression.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if host(named: part) != nil {
                if !names.contains(part) { names.append(part) }
            } else if let members = groups[part] {
                for member in members where !names.contains(member) { names.append(member) }
            } else {
                throw UnknownTarget(name: part, known: hosts.map(\.name))
            }
        }
        if names.isEmpty { throw UnknownTarget(name: expression, known: hosts.map(\.name)) }
        return names.compactMap { host(named: $0) }
    }
}

/// One host of the inventory, with the variables of ours that apply to it.
public struct InventoryHost: Sendable, Equatable {
    /// The inventory name (what tools and operators call it).
    public var name: String
    /// `ansible_host`, or the name itself.
    public var address: String
    /// `ansible_port`, or 22.
    public var port: Int
    /// The groups this host belongs to, sorted (`all` included).
    public var groups: [String]
    /// `mcp_allowed_services`: units the `restart_service` action may name on this host.
    public var allowedServices: [String]
    /// `mcp_approvers`: who may approve actions on this host (principal and SSH key).
    public var approvers: [Approver]
    /// `mcp_allowed_containers`: the containers `restart_container` and `container-logs` may name here.
    public var allowedContainers: [String] = []
    /// `mcp_http_checks`: the URLs (or URL prefixes ending in `/`) `http-check` may fetch from this host.
    public var httpChecks: [String] = []
    /// `mcp_ping_targets`: the names, addresses or IPv4 CIDRs `ping` may reach from this host.
    public var pingTargets: [String] = []
    /// `mcp_approvals_low`/`_medium`/`_high`: distinct approvers an action of that impact needs on this
    /// host; an impact not given here takes the server's `LINUX_MCP_APPROVALS_*`.
    public var requiredApprovals: [ActionCatalogue.Impact: Int] = [:]
    /// `mcp_approval_max_window`: the longest window (seconds) a signed approval may have for this host. The
    /// role renders the same number for the host's root side, which enforces it; the server and the reviewer's
    /// CLI take it from here, never from a setting the server's account can write.
    public var approvalMaxWindow: Int = InventoryHost.defaultApprovalMaxWindow

    /// The window maximum when the inventory sets none (one hour).
    public static let defaultApprovalMaxWindow = 3600
    /// The values `mcp_approval_max_window` may take: one minute to one day.
    public static let approvalMaxWindowRange = 60...86_400

    /// Creates a host.
    public init(name: String, address: String, port: Int = 22, groups: [String] = ["all"], allowedServices: [String] = [],
                approvers: [Approver] = []) {
        self.name = name
        self.address = address
        self.port = port
        self.groups = groups
        self.allowedServices = allowedServices
        self.approvers = approvers
    }
}

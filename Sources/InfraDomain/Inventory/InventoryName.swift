/// The allowed form of a host or group name in the inventory: one literal name, not an Ansible range such
/// as `web[1:3]` or a pattern, and never starting with `-` or `.`.
public enum InventoryName {
    /// True for names such as `web1`, `db.example.org` or `edge_routers`.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 253 && name.first != "-" && name.first != "."
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }
}

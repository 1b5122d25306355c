extension InventoryHost {
    /// The warning for a host on which nobody can approve an action (its `mcp_approvers` is empty), or nil when it
    /// lists approvers. The one wording of this rule: `propose_pra_action` returns it with the proposal it still
    /// records, and `doctor` prints it as a WARN line.
    public var noApproversWarning: String? {
        guard approvers.isEmpty else { return nil }
        return "host \(name) lists no approvers: nobody can approve an action on it; add mcp_approvers for it in the inventory and redeploy the role"
    }
}

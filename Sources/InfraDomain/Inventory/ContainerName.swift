/// The allowed form of a container name in `mcp_allowed_containers` (Docker's and Podman's own form, up to
/// 128 characters); never starts with `-` or `.`.
public enum ContainerName {
    /// The form as a regular expression, matched against the whole name.
    public static let pattern = "[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"

    /// True for names such as `web` or `worker_1`.
    public static func isValid(_ name: String) -> Bool {
        name.wholeMatch(of: try! Regex(pattern)) != nil
    }
}

/// How a path written in the configuration becomes the path that is opened: an absolute one is kept, a relative
/// one is joined to the folder it is relative to (the settings file's folder, or the current directory for a value
/// from the environment), and `.` and `..` are folded away, so every message names the file that was looked for.
public enum ConfiguredPath {
    /// `value` resolved against `folder` (an absolute path); `value` itself when it is absolute or `folder` is nil.
    public static func resolve(_ value: String, against folder: String?) -> String {
        guard !value.hasPrefix("/"), let folder else { return value }
        return normalized(folder + "/" + value)
    }

    /// An absolute path with empty, `.` and `..` components folded lexically (symbolic links are not followed).
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The folder that holds `path` (`/` for a file at the root).
    public static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }
}

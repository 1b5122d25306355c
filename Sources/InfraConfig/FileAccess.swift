import Foundation
import Glibc
import InfraDomain

/// The one place that tells, for a file the configuration names, "not found" from "permission denied": a file
/// that exists but this account cannot read, or that sits behind a folder it cannot enter, is never reported as
/// missing. Its errors name the resolved path, the account that tried, and the fix.
public enum FileAccess {
    /// What this account finds at a path.
    public enum Finding: Sendable, Equatable {
        /// The file is there and this account can open it for reading.
        case readable
        /// Nothing is there (no such file, or a component of its path is not a folder).
        case absent
        /// It may be there, but this account cannot reach it: `folder` is the first folder on its path that it
        /// cannot enter, nil when that is the file itself it cannot read.
        case denied(folder: String?)
    }

    /// Looks at `path` (an absolute path) as this account: stat for existence, then an open for reading.
    public static func find(_ path: String) -> Finding {
        var status = stat()
        guard stat(path, &status) == 0 else {
            return errno == EACCES ? .denied(folder: blockingFolder(of: path)) : .absent
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard descriptor >= 0 else { return errno == EACCES || errno == EPERM ? .denied(folder: nil) : .readable }
        close(descriptor)
        return .readable
    }

    /// The permission bits of `path`, nil when it does not exist; a path this account cannot reach is a permission error.
    public static func mode(_ path: String, field: String) throws(ConfigurationError) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == EACCES { throw denied(path, field: field, folder: blockingFolder(of: path)) }
            return nil
        }
        return Int(status.st_mode & 0o7777)
    }

    /// The first folder on the way to `path` (from the root down) that this account cannot enter, if any.
    public static func blockingFolder(of path: String) -> String? {
        var folder = ""
        for component in ConfiguredPath.folder(of: path).split(separator: "/") {
            folder += "/" + component
            if faccessat(AT_FDCWD, folder, X_OK, AT_EACCESS) != 0 && errno == EACCES { return folder }
        }
        return nil
    }

    /// The login name of the effective uid (the account whose permissions count), or `uid:N` without a passwd entry.
    public static var account: String { userName(geteuid()) }

    /// The login name of `uid`, or `uid:N` without a passwd entry.
    public static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid:\(uid)" }
        return String(cString: name)
    }

    /// The name of group `gid`, or `gid:N` without a group entry.
    public static func groupName(_ gid: gid_t) -> String {
        guard let entry = getgrgid(gid), let name = entry.pointee.gr_name else { return "gid:\(gid)" }
        return String(cString: name)
    }

    /// Whether `gid` is the user-private group of `uid`: the group of the same name, with no other members listed.
    public static func isPrivateGroup(_ gid: gid_t, of uid: uid_t) -> Bool {
        guard let group = getgrgid(gid), let groupName = group.pointee.gr_name else { return false }
        if let members = group.pointee.gr_mem, members.pointee != nil { return false }
        return String(cString: groupName) == userName(uid)
    }

    /// `mode 0750, owner root:mcp-linux-infra` for a path this account can stat, or nil.
    public static func ownership(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return "mode " + String(format: "%04o", Int(status.st_mode & 0o7777)) + ", owner \(userName(status.st_uid)):\(groupName(status.st_gid))"
    }

    /// How a reviewer's account gets in: the setup command, or the permission to change by hand.
    public static func approverFix(path: String, folder: String?) -> String {
        "ask an operator to run `mcp-linux-infra setup --approver \(account)`, or " + manualFix(path: path, folder: folder)
    }

    /// The permission to change by hand so that this account gets to `path`.
    public static func manualFix(path: String, folder: String?) -> String {
        let account = self.account
        if let folder {
            return "let \(account) enter \(folder) (chmod o+x \(folder), or chgrp it to a group \(account) is in and chmod g+x)"
        }
        return "let \(account) read \(path) (chmod o+r \(path), or chgrp it to a group \(account) is in and chmod g+r)"
    }

    /// The permission error for `path`: the path, the account, what stops it (the folder or the file, with its
    /// mode and owner when visible) and the fix (by default ``approverFix(path:folder:)``).
    public static func denied(_ path: String, field: String, folder: String?, fix: String? = nil) -> ConfigurationError {
        let account = self.account
        let problem: String
        if let folder {
            problem = "permission denied: account \(account) cannot enter the folder \(folder)" + (ownership(folder).map { " (\($0))" } ?? "")
        } else {
            problem = "permission denied: account \(account) cannot read it" + (ownership(path).map { " (\($0))" } ?? "")
        }
        return ConfigurationError(.permissionDenied, file: path, field: field, problem: problem,
                                  fix: fix ?? approverFix(path: path, folder: folder))
    }

    /// The file's text, or nil when it does not exist; a file this account cannot reach is a permission error
    /// (with `fix`, or ``approverFix(path:folder:)``).
    public static func readIfPresent(_ path: String, field: String, fix: String? = nil) throws(ConfigurationError) -> String? {
        switch find(path) {
        case .absent: return nil
        case .denied(let folder): throw denied(path, field: field, folder: folder, fix: fix)
        case .readable: break
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(.permissionDenied, file: path, field: field, problem: "it exists but cannot be read as \(account)",
                                     fix: fix ?? approverFix(path: path, folder: nil))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(.malformedLine, file: path, field: field, problem: "not UTF-8 text",
                                     fix: "check that the path names the right file")
        }
        return text
    }
}

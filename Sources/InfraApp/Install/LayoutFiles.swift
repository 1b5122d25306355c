import Foundation
import Glibc
import InfraConfig
import InfraDomain

/// The file operations of `setup` on one layout item, none of which follows a symbolic link at the item's path:
/// an existing item is opened with O_NOFOLLOW and changed through its descriptor (fchown, fchmod), a new one is
/// made with O_EXCL. A link, a file where a folder belongs (or the reverse), a file with other hard links, or an
/// item owned by someone other than root or its intended owner is refused, never changed.
struct LayoutFiles {
    /// The numeric ids the layout's owners and groups stand for on this machine.
    let root: (uid: uid_t, gid: gid_t) = (0, 0)
    let account: (uid: uid_t, gid: gid_t)
    let approversGID: gid_t
    let accountName: String
    let approversName: String

    /// What applying an item did.
    enum Outcome: Equatable {
        /// It was made (mode, owner and group as the layout says).
        case created
        /// It was right already.
        case ok
        /// It existed; these changes were made ("mode 0644 -> 0660").
        case fixed([String])
    }

    /// Whether something exists at `path`, not following a link there. A link counts as existing.
    func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Makes the item's owner, group and mode right when it exists (refusing what must not be changed); nil when
    /// nothing is at its path. With `anyOwner`, a file owned by anyone is taken over (the files SQLite leaves beside
    /// the database are their creator's: an approver's, say).
    func conform(_ item: InstallLayout.Item, anyOwner: Bool = false) throws(InstallSetup.Refusal) -> Outcome? {
        var before = stat()
        guard lstat(item.path, &before) == 0 else {
            if errno == ENOENT { return nil }
            throw InstallSetup.Refusal("\(item.path): \(Self.errorText()): check the path and its parent folders")
        }
        try checkKind(before, item)
        let descriptor = open(item.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (item.kind == .directory ? O_DIRECTORY : 0))
        guard descriptor >= 0 else {
            if errno == ELOOP { throw symlinkRefusal(item.path) }
            throw InstallSetup.Refusal("\(item.path): cannot open it: \(Self.errorText())")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_dev == before.st_dev, info.st_ino == before.st_ino else {
            throw InstallSetup.Refusal("\(item.path) changed while setup looked at it: run setup again")
        }
        try checkKind(info, item)
        return .fixed(try apply(item, descriptor: descriptor, info: info, anyOwner: anyOwner)).collapsed
    }

    /// Makes a new file with `contents`, then its owner, group and mode; refused if anything appeared at its path.
    func createFile(_ item: InstallLayout.Item, contents: String) throws(InstallSetup.Refusal) {
        let descriptor = open(item.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw InstallSetup.Refusal("\(item.path): cannot create it: \(Self.errorText())")
        }
        defer { close(descriptor) }
        var bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InstallSetup.Refusal("\(item.path): cannot write it: \(Self.errorText())")
            }
            written += count
        }
        bytes.removeAll()
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw InstallSetup.Refusal("\(item.path): \(Self.errorText())") }
        _ = try apply(item, descriptor: descriptor, info: info, anyOwner: false)
    }

    /// Makes a new folder, then its owner, group and mode.
    func createDirectory(_ item: InstallLayout.Item) throws(InstallSetup.Refusal) {
        guard mkdir(item.path, 0o700) == 0 else {
            throw InstallSetup.Refusal("\(item.path): cannot create the folder: \(Self.errorText())")
        }
        guard case .some = try conform(item) else {
            throw InstallSetup.Refusal("\(item.path): the folder vanished after it was made: run setup again")
        }
    }

    /// Makes the parent folders of a layout path that are missing (root, 0755), following links as any path
    /// lookup does: they belong to the system, not to the layout.
    func createParents(of path: String) throws(InstallSetup.Refusal) {
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty, parent != "/" else { return }
        var info = stat()
        if stat(parent, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw InstallSetup.Refusal("\(parent) is not a folder: move it away and run setup again")
            }
            return
        }
        try createParents(of: parent)
        guard mkdir(parent, 0o755) == 0 || errno == EEXIST else {
            throw InstallSetup.Refusal("\(parent): cannot create the folder: \(Self.errorText())")
        }
    }

    /// The item's mode, owner and group, as a line prints them: `0640 root:mcp-linux-infra`.
    func describe(_ item: InstallLayout.Item) -> String {
        "\(Self.octal(item.mode)) \(name(of: item.owner)):\(name(of: item.group))"
    }

    private func checkKind(_ info: stat, _ item: InstallLayout.Item) throws(InstallSetup.Refusal) {
        let type = info.st_mode & S_IFMT
        if type == S_IFLNK { throw symlinkRefusal(item.path) }
        switch item.kind {
        case .directory where type != S_IFDIR:
            throw InstallSetup.Refusal("\(item.path) is not a folder: move it away and run setup again")
        case .file where type != S_IFREG:
            throw InstallSetup.Refusal("\(item.path) is not a regular file: move it away and run setup again")
        case .file where info.st_nlink > 1:
            throw InstallSetup.Refusal("\(item.path) has \(info.st_nlink) hard links: setup does not change a file that is also elsewhere; "
                                       + "replace it with a copy (cp --remove-destination) and run setup again")
        default:
            break
        }
    }

    private func symlinkRefusal(_ path: String) -> InstallSetup.Refusal {
        InstallSetup.Refusal("\(path) is a symbolic link: setup neither follows nor replaces a link where the layout's files go "
                             + "(it could point at any file); remove it and run setup again")
    }

    /// Sets owner, group and mode through the descriptor; returns what changed. An owner other than root or the
    /// intended one is refused: someone else may have written in it.
    private func apply(_ item: InstallLayout.Item, descriptor: Int32, info: stat, anyOwner: Bool) throws(InstallSetup.Refusal) -> [String] {
        let uid = item.owner == .root ? root.uid : account.uid
        let gid = gid(of: item.group)
        guard anyOwner || info.st_uid == root.uid || info.st_uid == uid else {
            let allowed = item.owner == .root ? "root" : "root or \(name(of: item.owner))"
            throw InstallSetup.Refusal("\(item.path) is owned by \(FileAccess.userName(info.st_uid)), not \(allowed): someone else may have "
                                       + "written in it; check it, then remove it or chown it to \(name(of: item.owner)) and run setup again")
        }
        var changes: [String] = []
        if info.st_uid != uid || info.st_gid != gid {
            guard fchown(descriptor, uid, gid) == 0 else {
                throw InstallSetup.Refusal("\(item.path): cannot change its owner: \(Self.errorText())")
            }
            changes.append("owner \(FileAccess.userName(info.st_uid)):\(FileAccess.groupName(info.st_gid)) -> \(name(of: item.owner)):\(name(of: item.group))")
        }
        // fchown clears setuid/setgid bits on some systems: the mode is set after it, and compared with the original.
        let mode = UInt32(info.st_mode) & 0o7777
        if mode != item.mode || !changes.isEmpty {
            guard fchmod(descriptor, mode_t(item.mode)) == 0 else {
                throw InstallSetup.Refusal("\(item.path): cannot change its mode: \(Self.errorText())")
            }
            if mode != item.mode { changes.append("mode \(Self.octal(mode)) -> \(Self.octal(item.mode))") }
        }
        return changes
    }

    private func gid(of group: InstallLayout.Group) -> gid_t {
        switch group {
        case .root: root.gid
        case .account: account.gid
        case .approvers: approversGID
        }
    }

    private func name(of owner: InstallLayout.Owner) -> String { owner == .root ? "root" : accountName }

    private func name(of group: InstallLayout.Group) -> String {
        switch group {
        case .root: "root"
        case .account: accountName
        case .approvers: approversName
        }
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}

extension LayoutFiles.Outcome {
    /// `.fixed([])` is `.ok`.
    fileprivate var collapsed: LayoutFiles.Outcome {
        if case .fixed(let changes) = self, changes.isEmpty { return .ok }
        return self
    }
}

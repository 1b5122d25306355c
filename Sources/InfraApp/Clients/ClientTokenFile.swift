import Foundation
import Glibc
import InfraConfig
import InfraDomain

/// The tokens file (LINUX_MCP_HTTP_TOKENS) on disk: read, changed, and written back whole (a temporary file
/// in the same folder, mode 0600, renamed over the old one), so a reader never sees half a file and no
/// secret is ever written: only the hashes ``ClientTokens`` keeps.
public struct ClientTokenFile: Sendable {
    /// The file's path.
    public let path: String
    let now: @Sendable () -> Date

    /// The file at `path`.
    public init(path: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.path = path
        self.now = now
    }

    /// The tokens (none when the file does not exist yet).
    public func read() throws(ClientTokens.Problem) -> ClientTokens {
        // Absent is empty; a file this account cannot reach is a permission error naming the account and the fix.
        switch FileAccess.find(path) {
        case .absent: return ClientTokens()
        case .denied(let folder):
            let fix = "run it as the server's account (sudo -u mcp-linux-infra …), whose file this is, or " + FileAccess.manualFix(path: path, folder: folder)
            throw ClientTokens.Problem(description: FileAccess.denied(path, field: "LINUX_MCP_HTTP_TOKENS", folder: folder, fix: fix).description)
        case .readable: break
        }
        try refuseForeignWriters()
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ClientTokens.Problem(description: "\(path): cannot read it: \((error as NSError).localizedDescription) (LINUX_MCP_HTTP_TOKENS)")
        }
        return try ClientTokens.parse(text, source: path)
    }

    /// Refuses a tokens file that someone other than this account (or root) could have written, directly or by
    /// replacing it in its folder: whoever can do that can let any client in. `auto` puts the file beside the
    /// database, whose folder the approvers may write in when they share it (docs/INSTALL.md keeps it elsewhere).
    func refuseForeignWriters() throws(ClientTokens.Problem) {
        let folder = ConfiguredPath.folder(of: path)
        var file = stat(), parent = stat()
        guard lstat(path, &file) == 0, stat(folder, &parent) == 0 else { return }
        let trusted = { (uid: uid_t) in uid == 0 || uid == geteuid() }
        let problem: String?
        if !trusted(file.st_uid) {
            problem = "it is owned by \(FileAccess.userName(file.st_uid)), not by \(FileAccess.account) or root"
        } else if file.st_mode & 0o022 != 0 {
            problem = "its group or others may write it (\(FileAccess.ownership(path) ?? "mode unknown"))"
        } else if !trusted(parent.st_uid) || (parent.st_mode & 0o022 != 0 && parent.st_mode & S_ISVTX == 0) {
            problem = "its folder \(folder) lets others replace it (\(FileAccess.ownership(folder) ?? "mode unknown"))"
        } else {
            problem = nil
        }
        guard let problem else { return }
        throw ClientTokens.Problem(description: "\(path): \(problem): anyone who can write it could let any client in; nothing was read. "
                                   + "Fix: set LINUX_MCP_HTTP_TOKENS to a file in a folder only \(FileAccess.account) writes (the install "
                                   + "layout's /var/lib/mcp-linux-infra/http-tokens), and add the tokens again (LINUX_MCP_HTTP_TOKENS)")
    }

    /// Adds a token named `name` for `scope`; returns the token, which only the caller ever sees.
    public func add(name: String, scope: ClientTokens.Scope = .mcp) throws(ClientTokens.Problem) -> String {
        var tokens = try read()
        var random = SystemRandomNumberGenerator()
        let token = try tokens.add(name: name, scope: scope, random: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }, at: now())
        try write(tokens)
        return token
    }

    /// Revokes the token named `name`.
    public func revoke(name: String) throws(ClientTokens.Problem) {
        var tokens = try read()
        try tokens.revoke(name: name, at: now())
        try write(tokens)
    }

    func write(_ tokens: ClientTokens) throws(ClientTokens.Problem) {
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ClientTokens.Problem(description: "\(folder): cannot create it: \((error as NSError).localizedDescription)")
        }
        let temporary = folder + "/.http-tokens.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        // A new file only (never through a link someone left there), 0600 from its first byte.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ClientTokens.Problem(description: "\(temporary): cannot create it: \(String(cString: strerror(errno))) (LINUX_MCP_HTTP_TOKENS's folder)")
        }
        let bytes = Array(tokens.text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced else {
            unlink(temporary)
            throw ClientTokens.Problem(description: "\(temporary): cannot write it (LINUX_MCP_HTTP_TOKENS's folder)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ClientTokens.Problem(description: "\(path): cannot replace it: \(reason)")
        }
    }
}

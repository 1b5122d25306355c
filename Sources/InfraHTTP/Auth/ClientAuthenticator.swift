import Foundation
import InfraApp
import InfraDomain
import Logging

/// Who an HTTP request's bearer token names, against the tokens file (LINUX_MCP_HTTP_TOKENS), read again as
/// soon as it changes: `tokens revoke` takes effect on the next request of a running server. Every entry is
/// compared in constant time (``ClientTokens/authenticate(_:)``); only hashes are in memory. Each endpoint
/// asks for its own scope: a valid token of another scope is refused there (``Outcome/wrongScope(_:)``).
final class ClientAuthenticator: @unchecked Sendable {
    /// What a request presented.
    enum Outcome: Equatable {
        /// A valid token of the scope asked for, with its name.
        case client(String)
        /// A valid token of another scope (an MCP token at /metrics, a metrics token at /mcp), with its name.
        case wrongScope(String)
        /// No Authorization header, or not a bearer one.
        case missing
        /// A token that matches none.
        case unknown
        /// A revoked token, with its name.
        case revoked(String)
        /// The tokens file cannot be read: nobody is let in (the log says why).
        case unavailable
    }

    private let file: ClientTokenFile
    private let logger: Logger
    private let lock = NSLock()
    private var cached: (stamp: FileStamp?, tokens: ClientTokens)?

    init(file: ClientTokenFile, logger: Logger) {
        self.file = file
        self.logger = logger
    }

    /// The tokens as the file holds them now (read again when its inode, size or time changed).
    func tokens() throws(ClientTokens.Problem) -> ClientTokens {
        let stamp = FileStamp(path: file.path)
        if let cached = lock.withLock({ cached }), cached.stamp == stamp, stamp != nil { return cached.tokens }
        let tokens = try file.read()
        lock.withLock { cached = (stamp, tokens) }
        return tokens
    }

    /// The names of the valid tokens of `scope` now, or nil when the file cannot be read.
    func validNames(scope: ClientTokens.Scope) -> Set<String>? {
        guard let tokens = try? tokens() else { return nil }
        return Set(tokens.entries.filter { $0.revoked == nil && $0.scope == scope }.map(\.name))
    }

    /// Checks the value of an `Authorization` header for an endpoint of `scope`.
    func authenticate(authorization: String?, scope: ClientTokens.Scope) -> Outcome {
        guard let authorization, let space = authorization.firstIndex(of: " "),
              authorization[..<space].lowercased() == "bearer" else { return .missing }
        let presented = authorization[authorization.index(after: space)...].trimmingCharacters(in: .whitespaces)
        guard !presented.isEmpty, presented.utf8.count <= 256 else { return .unknown }
        let tokens: ClientTokens
        do {
            tokens = try self.tokens()
        } catch {
            logger.error("the HTTP tokens file cannot be read: every client is refused", metadata: ["problem": "\(error)"])
            return .unavailable
        }
        switch tokens.authenticate(presented) {
        case .client(let name, let held): return held == scope ? .client(name) : .wrongScope(name)
        case .revoked(let name): return .revoked(name)
        case .unknown: return .unknown
        }
    }

    /// A file's identity and version: device, inode, size and modification time (nanoseconds).
    struct FileStamp: Equatable {
        let device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            seconds = Int(info.st_mtim.tv_sec)
            nanoseconds = Int(info.st_mtim.tv_nsec)
        }
    }
}

import Foundation
import Glibc
import InfraDomain

/// Sends the audit log's head to a unix datagram socket (the journal's `/dev/log` by default,
/// `LINUX_MCP_AUDIT_WITNESS`) as one syslog datagram (``AuditWitness/datagram(_:pid:)``).
///
/// It never blocks and never fails the caller: one non-blocking socket is reused for every send, and a
/// missing socket or a failed send writes one warning (through `warn`, stderr by default) when the witness
/// stops answering, and one notice when it answers again, never one per row.
public final class AuditHeadWitness: @unchecked Sendable {
    /// The socket path heads are sent to.
    public let socketPath: String
    private let warn: @Sendable (String) -> Void
    private let lock = NSLock()
    private var descriptor: Int32 = -1
    private var failing = false
    private var unsent = 0

    /// A witness sending to `socketPath`; `warn` gets the one-line warnings (default: stderr).
    public init(socketPath: String, warn: @escaping @Sendable (String) -> Void = AuditHeadWitness.standardError) {
        self.socketPath = socketPath
        self.warn = warn
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Writes `line` and a line end to stderr (stdout is the MCP transport).
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Sends `head`; returns whether the datagram went out. Failures are reported through `warn`, not thrown.
    @discardableResult
    public func send(_ head: AuditChain.Anchor) -> Bool {
        let datagram = Array(AuditWitness.datagram(head, pid: getpid()).utf8)
        let (sent, problem): (Bool, String?) = lock.withLock {
            let error = transmit(datagram)
            defer { failing = error != nil; unsent = error == nil ? 0 : unsent + 1 }
            if let error, !failing {
                return (false, "warning: audit witness \(socketPath) (LINUX_MCP_AUDIT_WITNESS) is unavailable: \(error); the audit log's "
                               + "head (row \(head.seq)) is not witnessed outside the database until it answers again. Commits go on.")
            }
            if error == nil, failing {
                return (true, "notice: audit witness \(socketPath) answers again from row \(head.seq) on (\(unsent) head(s) were not witnessed)")
            }
            return (error == nil, nil)
        }
        if let problem { warn(problem) }
        return sent
    }

    /// One `sendto`; nil when it went out, else why not. Called with the lock held.
    private func transmit(_ datagram: [UInt8]) -> String? {
        if descriptor < 0 {
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            if descriptor < 0 { return "socket(): \(String(cString: strerror(errno)))" }
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return "the socket path is too long" }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path)
            buffer[path.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + 1)
        let result = datagram.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, length) }
            }
        }
        return result < 0 ? String(cString: strerror(errno)) : nil
    }
}

import Foundation
import Glibc

/// A unix datagram socket a test binds itself (a syslog sink in-process): it receives what the code under
/// test sends, and hands each datagram over as text, waiting with a deadline, never a fixed pause.
public final class DatagramSink: @unchecked Sendable {
    /// The socket's path.
    public let path: String
    private let descriptor: Int32

    /// Binds a fresh socket at `path` (removing nothing: the path must not exist).
    public init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw SinkError(description: "socket(): \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw SinkError(description: "socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let problem = String(cString: strerror(errno))
            close(descriptor)
            throw SinkError(description: "bind(\(path)): \(problem)")
        }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// The next datagram, or nil when none arrived before `deadline`.
    public func next(before deadline: ContinuousClock.Instant) -> String? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count >= 0 { return String(decoding: buffer[0..<count], as: UTF8.self) }
            guard errno == EAGAIN || errno == EINTR else { return nil }
            let left = deadline - .now
            guard left > .zero else { return nil }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 1000)))
        }
    }

    /// Datagrams until one satisfies `done` (included) or `deadline` passes.
    public func receive(until done: (String) -> Bool, before deadline: ContinuousClock.Instant) -> [String] {
        var received: [String] = []
        while let datagram = next(before: deadline) {
            received.append(datagram)
            if done(datagram) { break }
        }
        return received
    }

    /// A failure to set the sink up.
    public struct SinkError: Error, CustomStringConvertible {
        public var description: String
    }
}

import CLibSSH2
import Foundation
import Glibc

/// Opens non-blocking TCP connections in steps an event loop can drive: resolve the host's addresses, begin
/// a connect to one of them, and finish it once the socket is writable. Nothing here waits.
enum SocketConnector {
    /// One address of a host, as `connect()` takes it.
    struct Address: Sendable {
        let family: Int32
        let bytes: [UInt8]
    }

    /// Why a TCP connection could not be made.
    enum ConnectProblem: Error {
        case failed(String)
        case timedOut
    }

    /// Resolves `address` (an IP literal or a name) to the addresses to try, in order.
    ///
    /// An IP literal is answered at once. A name may need DNS, which can block, so it is resolved on a
    /// dispatch thread, never on an SSH I/O thread or Swift's cooperative pool.
    static func resolve(address: String, port: Int) async throws(ConnectProblem) -> [Address] {
        if let literal = try? lookUp(address: address, port: port, numericOnly: true) { return literal }
        let result: Result<[Address], ConnectProblem> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(ConnectProblem) {
                    continuation.resume(returning: .success(try lookUp(address: address, port: port, numericOnly: false)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private static func lookUp(address: String, port: Int, numericOnly: Bool) throws(ConnectProblem) -> [Address] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (numericOnly ? AI_NUMERICHOST : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .failed("cannot resolve \(address): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var addresses: [Address] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            guard let raw = info.pointee.ai_addr else { continue }
            let bytes = [UInt8](UnsafeRawBufferPointer(start: raw, count: Int(info.pointee.ai_addrlen)))
            addresses.append(Address(family: info.pointee.ai_family, bytes: bytes))
        }
        if addresses.isEmpty { throw .failed("no address for \(address)") }
        return addresses
    }

    /// Starts a non-blocking connect to `address`. The returned socket becomes writable when the connect
    /// has finished one way or the other; ``finish(_:)`` tells which.
    static func begin(_ address: Address) throws(ConnectProblem) -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .failed("socket: \(errnoText())") }
        let rc = address.bytes.withUnsafeBytes { raw in
            Glibc.connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if rc != 0 && errno != EINPROGRESS {
            let problem = ConnectProblem.failed(errnoText())
            close(fd)
            throw problem
        }
        return fd
    }

    /// Completes a connect that ``begin(_:)`` started, once the socket is writable: sets TCP_NODELAY and
    /// SO_KEEPALIVE, or closes the socket and says why the connect failed.
    static func finish(_ fd: Int32) throws(ConnectProblem) {
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
        if soError != 0 {
            close(fd)
            throw .failed(errnoText(soError))
        }
        _ = cssh_set_tcp_nodelay(fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// Deadline arithmetic for poll().
enum Deadline {
    /// Milliseconds from now until the deadline, clamped to 0...Int32.max, rounded up.
    static func milliseconds(until deadline: ContinuousClock.Instant, from now: ContinuousClock.Instant = .now) -> Int32 {
        let remaining = now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}

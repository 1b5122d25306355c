import CLibSSH2
import Glibc

/// Opens a non-blocking TCP connection within a deadline, trying every address of the host in turn.
enum SocketConnector {
    /// Returns a connected, non-blocking socket with TCP_NODELAY and SO_KEEPALIVE set.
    static func connect(address: String, port: Int, deadline: ContinuousClock.Instant) throws(ConnectProblem) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .failed("cannot resolve \(address): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var lastProblem = ConnectProblem.failed("no address for \(address)")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastProblem = .failed("socket: \(errnoText())"); continue }
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastProblem = .failed(errnoText())
                close(fd)
                continue
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let remaining = Deadline.milliseconds(until: deadline)
            if remaining <= 0 || poll(&pfd, 1, remaining) == 0 {
                close(fd)
                throw .timedOut
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if soError != 0 {
                lastProblem = .failed(errnoText(soError))
                close(fd)
                continue
            }
            _ = cssh_set_tcp_nodelay(fd)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
        throw lastProblem
    }

    /// Why a TCP connection could not be made.
    enum ConnectProblem: Error {
        case failed(String)
        case timedOut
    }
}

/// Deadline arithmetic for poll().
enum Deadline {
    /// Milliseconds from now until the deadline, clamped to 0...Int32.max, rounded up.
    static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let remaining = ContinuousClock.now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}

import Foundation
import Glibc
import Logging
import MCP

/// MCP over stdin/stdout, one JSON-RPC message per line, with a bound on the size of one message.
///
/// The SDK's `StdioTransport` (0.12.1) reads 4 KiB at a time and searches the whole pending buffer for a
/// newline after every read: an n-byte line costs about n²/4096 comparisons, and the server answers
/// nothing meanwhile (8 MB took 398 s). Here a thread of its own reads 64 KiB blocks, ``LineReader``
/// scans only the new bytes, and a message that passes `maxMessageBytes` is answered with a JSON-RPC
/// error naming the limit as soon as it passes, its remaining bytes dropped as they arrive. Each message
/// goes through ``MessageScreen`` before the SDK sees it. Writes are serialized on one queue, one message
/// per line, off Swift's cooperative pool. Switching back to the SDK's transport is one line in
/// `MCPServer.serveStdio`.
actor BoundedStdioTransport: Transport {
    nonisolated let logger: Logger
    private let input: Int32
    private let output: OutputLine
    private let maxMessageBytes: Int
    private let setting: String
    private let stream: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var connected = false
    private let requests = RequestCount()

    /// A transport on `input`/`output` (default: stdin and stdout) refusing messages over `maxMessageBytes`.
    init(maxMessageBytes: Int, setting: String = "LINUX_MCP_MAX_MESSAGE_BYTES", input: Int32 = STDIN_FILENO,
         output: Int32 = STDOUT_FILENO, logger: Logger) {
        self.logger = logger
        self.input = input
        self.output = OutputLine(fd: output)
        self.maxMessageBytes = maxMessageBytes
        self.setting = setting
        (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    /// Starts the reading thread.
    func connect() async throws {
        guard !connected else { return }
        connected = true
        let reader = ReaderLoop(fd: input, limit: maxMessageBytes, setting: setting, output: output,
                                continuation: continuation, logger: logger, requests: requests)
        let thread = Thread { reader.run() }
        thread.name = "mcp stdin"
        thread.start()
    }

    /// Ends the message stream. The reading thread ends at end of input (or with the process).
    func disconnect() async {
        connected = false
        continuation.finish()
    }

    /// Writes one message and its newline; returns once it is written.
    func send(_ data: Data) async throws {
        var line = data
        line.append(0x0A)
        try await output.write(line)
        if MessageScreen.isResponse(data) { requests.answered() }
    }

    /// Waits until every request read so far has been answered, or `deadline`; true when all were.
    /// A stop calls this before closing, so an answer on its way out is not cut off.
    nonisolated func waitUntilAnswered(until deadline: ContinuousClock.Instant) async -> Bool {
        while requests.unanswered > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// The messages read, one per line, screened.
    nonisolated func receive() -> AsyncThrowingStream<Data, any Error> {
        stream
    }
}

/// The reading side: blocking reads of 64 KiB on its own thread.
private struct ReaderLoop: @unchecked Sendable {
    let fd: Int32
    let limit: Int
    let setting: String
    let output: OutputLine
    let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    let logger: Logger
    let requests: RequestCount

    func run() {
        var lines = LineReader(limit: limit)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    _ = poll(&pfd, 1, 1000)
                    continue
                }
                logger.error("reading stdin failed", metadata: ["errno": "\(errno)"])
                break
            }
            let events = buffer.withUnsafeBytes { lines.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            for event in events {
                switch event {
                case .message(let bytes):
                    switch MessageScreen.screen(bytes) {
                    case .request:
                        requests.received()
                        continuation.yield(Data(bytes))
                    case .pass: continuation.yield(Data(bytes))
                    case .answer(let response): output.enqueue(response + [0x0A])
                    }
                case .oversized(let prefix):
                    logger.notice("message over the size limit refused", metadata: ["limit": "\(limit)"])
                    output.enqueue(MessageScreen.tooLarge(prefix: prefix, limit: limit, setting: setting) + [0x0A])
                }
            }
        }
        logger.debug("stdin closed")
        continuation.finish()
    }
}

/// Requests read and not yet answered.
final class RequestCount: @unchecked Sendable {
    private let lock = NSLock()
    private var open = 0

    func received() { lock.withLock { open += 1 } }
    func answered() { lock.withLock { open = max(0, open - 1) } }
    var unanswered: Int { lock.withLock { open } }
}

/// Serialized writes of whole lines to one descriptor, on a queue of their own.
final class OutputLine: @unchecked Sendable {
    private let fd: Int32
    private let queue = DispatchQueue(label: "mcp stdout")

    init(fd: Int32) {
        self.fd = fd
    }

    /// Writes `data` after every earlier write; throws when the reader is gone.
    func write(_ data: Data) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            queue.async { done.resume(with: self.writeAll(data)) }
        }
    }

    /// Writes `data` after every earlier write, without waiting.
    func enqueue(_ data: Data) {
        queue.async { _ = self.writeAll(data) }
    }

    private func writeAll(_ data: Data) -> Result<Void, any Error> {
        data.withUnsafeBytes { raw -> Result<Void, any Error> in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written > 0 { offset += written; continue }
                if written < 0 && errno == EINTR { continue }
                if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&pfd, 1, 1000)
                    continue
                }
                return .failure(MCPError.transportError(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)))
            }
            return .success(())
        }
    }
}

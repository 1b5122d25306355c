import Foundation

/// Splits a byte stream into newline-delimited messages, in time linear in the input, never holding more
/// than `limit` bytes of one message.
///
/// Each chunk is scanned once, for its own bytes only (never the whole pending message again). A message
/// that passes `limit` is reported as ``Event/oversized(prefix:)`` at the moment it passes, and the rest of
/// its line is dropped as it arrives: nothing waits for the end of a line that may be gigabytes away.
struct LineReader {
    /// What a chunk completed.
    enum Event: Equatable {
        /// One whole message (without its newline; a trailing carriage return is removed).
        case message([UInt8])
        /// A message passed the limit; `prefix` is its first bytes (up to 4 KiB), kept to find its id.
        case oversized(prefix: [UInt8])
    }

    /// The most bytes one message may have.
    let limit: Int
    private var pending: [UInt8] = []
    private var skipping = false

    /// A reader for messages of at most `limit` bytes.
    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held for the message in progress (never more than `limit`).
    var bufferedCount: Int { pending.count }

    /// Consumes `chunk` and returns the events it completed, in order.
    mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [Event] {
        var events: [Event] = []
        var start = 0
        let count = chunk.count
        guard let base = chunk.baseAddress else { return events }
        while start < count {
            let restStart = base + start
            let rest = UnsafeRawBufferPointer(start: restStart, count: count - start)
            let newline = memchr(restStart, 0x0A, rest.count).map { UnsafeRawPointer($0) - restStart }
            let end = newline ?? rest.count
            if !skipping {
                if pending.count + end > limit {
                    let room = max(0, min(4096, limit) - pending.count)
                    var prefix = Array(pending.prefix(4096))
                    prefix.append(contentsOf: UnsafeRawBufferPointer(start: rest.baseAddress, count: min(room, end)))
                    events.append(.oversized(prefix: prefix))
                    pending.removeAll(keepingCapacity: false)
                    skipping = true
                } else {
                    pending.append(contentsOf: UnsafeRawBufferPointer(start: rest.baseAddress, count: end))
                }
            }
            guard newline != nil else { break }
            if skipping {
                skipping = false
            } else {
                if pending.last == 0x0D { pending.removeLast() }
                if !pending.isEmpty { events.append(.message(pending)) }
                pending.removeAll(keepingCapacity: true)
                if pending.capacity > 1 << 16 { pending = [] }
            }
            start += end + 1
        }
        return events
    }

    /// Convenience for tests: feeds an array.
    mutating func feed(_ bytes: [UInt8]) -> [Event] {
        bytes.withUnsafeBytes { feed($0) }
    }
}

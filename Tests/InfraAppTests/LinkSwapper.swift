import Foundation
import Glibc

/// An attacker who may write in a folder (an approver in the database's folder): on a background thread it waits
/// (inotify) for `name` to be created there, then at once replaces it with a symbolic link to `target`, once.
final class LinkSwapper: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var swapped = false
    private let ended = DispatchSemaphore(value: 0)
    private let descriptor: Int32

    /// Starts watching `folder`; the swap happens at most once.
    init(folder: String, name: String, target: String) throws {
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0, inotify_add_watch(descriptor, folder, UInt32(IN_CREATE)) >= 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSDebugDescriptionErrorKey: "inotify on \(folder): \(String(cString: strerror(errno)))"])
        }
        Thread { [self] in
            defer { ended.signal() }
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !lock.withLock({ stopped }) {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 50) > 0 else { continue }
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                var offset = 0
                while offset + 16 <= count {
                    let length = Int(buffer.withUnsafeBytes { $0.load(fromByteOffset: offset + 12, as: UInt32.self) })
                    let created = buffer[(offset + 16)..<min(count, offset + 16 + length)].prefix { $0 != 0 }
                    offset += 16 + length
                    guard String(decoding: created, as: UTF8.self) == name else { continue }
                    let link = folder + "/.swap-link"
                    unlink(link)
                    let done = symlink(target, link) == 0 && rename(link, folder + "/" + name) == 0
                    lock.withLock { swapped = done }
                    return
                }
            }
        }.start()
    }

    /// Whether the swap happened.
    var didSwap: Bool { lock.withLock { swapped } }

    /// Stops watching (the thread ends within its poll interval) and closes the watch.
    func stop() {
        lock.withLock { stopped = true }
        ended.wait()
        close(descriptor)
    }
}

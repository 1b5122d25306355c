import Foundation
import InfraDomain

/// Which process owns an execution, read from the kernel: this process when it claims one, and whether a
/// recorded owner still runs when a server starts (a run whose owner is gone becomes INTERRUPTED).
public enum ExecutionOwnerProbe {
    /// This process: host name, PID and the start time the kernel gives it.
    public static var current: ExecutionOwner {
        let pid = Int(getpid())
        return ExecutionOwner(host: ProcessInfo.processInfo.hostName, pid: pid, start: startTime(of: pid) ?? "?")
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or nil when the process is gone.
    public static func startTime(of pid: Int) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, so start time (field 22) is index 19.
        guard fields.count > 19, fields[0] != "Z" else { return nil }
        return String(fields[19])
    }

    /// True when `owner`'s process still runs on this host (a different host cannot be checked: assume alive).
    public static func isAlive(_ owner: ExecutionOwner) -> Bool {
        guard owner.host == ProcessInfo.processInfo.hostName else { return true }
        return startTime(of: owner.pid) == owner.start
    }
}

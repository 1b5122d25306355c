/// Typed readings of mcp-wrapper's output, one parser per verb. Pure: text in, values out.
///
/// Each parser accepts exactly what the verb's fixed program prints (system/mcp-wrapper runs it with
/// `LC_ALL=C`), skips lines it does not recognise, and never fails on unexpected text: a reading that
/// cannot be made leaves the field empty rather than inventing one.
public enum WrapperOutput {
    /// `os` (/etc/os-release), `kernel` (uname -snrvmo) and `uptime` (/proc/uptime + /proc/loadavg).
    public struct SystemInfo: Codable, Sendable, Equatable {
        public var hostname: String
        public var osName: String
        public var osVersion: String
        public var osID: String
        public var kernel: String
        public var architecture: String
        public var uptimeSeconds: Double
        public var load1: Double
        public var load5: Double
        public var load15: Double
    }

    /// Reads the three verbs' outputs into one ``SystemInfo``.
    public static func systemInfo(osRelease: String, uname: String, uptime: String) -> SystemInfo {
        var fields: [String: String] = [:]
        for line in osRelease.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: equals)...])
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            fields[String(line[..<equals])] = value
        }
        // uname -snrvmo: SYSNAME NODENAME RELEASE VERSION... MACHINE OS (VERSION contains spaces).
        let words = uname.split(separator: " ").map(String.init)
        let hostname = words.count > 1 ? words[1] : ""
        let release = words.count > 2 ? words[2] : ""
        let machine = words.count >= 2 ? words[words.count - 2] : ""
        let lines = uptime.split(separator: "\n")
        let up = lines.first.flatMap { $0.split(separator: " ").first }.flatMap { Double($0) } ?? 0
        let loads = lines.count > 1 ? lines[1].split(separator: " ").prefix(3).compactMap { Double($0) } : []
        return SystemInfo(hostname: hostname, osName: fields["PRETTY_NAME"] ?? fields["NAME"] ?? "",
                          osVersion: fields["VERSION_ID"] ?? "", osID: fields["ID"] ?? "",
                          kernel: release, architecture: machine, uptimeSeconds: up,
                          load1: loads.count > 0 ? loads[0] : 0, load5: loads.count > 1 ? loads[1] : 0,
                          load15: loads.count > 2 ? loads[2] : 0)
    }

    /// `memory` (/proc/meminfo), in bytes.
    public struct MemoryInfo: Codable, Sendable, Equatable {
        public var totalBytes: Int
        public var availableBytes: Int
        public var freeBytes: Int
        public var buffersBytes: Int
        public var cachedBytes: Int
        public var swapTotalBytes: Int
        public var swapFreeBytes: Int
        public var usedPercent: Double
    }

    /// Reads /proc/meminfo (values in kB).
    public static func memoryInfo(_ text: String) -> MemoryInfo {
        var kib: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, parts[0].hasSuffix(":"), let value = Int(parts[1]) else { continue }
            kib[String(parts[0].dropLast())] = value
        }
        let total = (kib["MemTotal"] ?? 0) * 1024, available = (kib["MemAvailable"] ?? kib["MemFree"] ?? 0) * 1024
        let used = total > 0 ? Double(total - available) / Double(total) * 100 : 0
        return MemoryInfo(totalBytes: total, availableBytes: available, freeBytes: (kib["MemFree"] ?? 0) * 1024,
                          buffersBytes: (kib["Buffers"] ?? 0) * 1024, cachedBytes: (kib["Cached"] ?? 0) * 1024,
                          swapTotalBytes: (kib["SwapTotal"] ?? 0) * 1024, swapFreeBytes: (kib["SwapFree"] ?? 0) * 1024,
                          usedPercent: (used * 10).rounded() / 10)
    }

    /// One file system of `disks` (df -P -B1 -T).
    public struct FileSystem: Codable, Sendable, Equatable {
        public var device: String
        public var type: String
        public var sizeBytes: Int
        public var usedBytes: Int
        public var availableBytes: Int
        public var usedPercent: Int
        public var mountPoint: String
    }

    /// Reads `df -P -B1 -T` (header skipped; mount points may contain spaces).
    public static func fileSystems(_ text: String) -> [FileSystem] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: true).map(String.init)
            guard parts.count == 7, let size = Int(parts[2]), let used = Int(parts[3]), let available = Int(parts[4]),
                  let percent = Int(parts[5].trimmingSuffix("%")) else { return nil }
            return FileSystem(device: parts[0], type: parts[1], sizeBytes: size, usedBytes: used, availableBytes: available,
                              usedPercent: percent, mountPoint: parts[6])
        }
    }

    /// `unit-show` (systemctl show with a fixed property list).
    public struct ServiceStatus: Codable, Sendable, Equatable {
        public var unit: String
        public var loadState: String
        public var activeState: String
        public var subState: String
        public var unitFileState: String
        public var mainPID: Int
        public var restarts: Int
        public var result: String
        public var startedAt: String
        public var memoryBytes: Int?
    }

    /// Reads `systemctl show` KEY=VALUE lines.
    public static func serviceStatus(_ text: String) -> ServiceStatus {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return ServiceStatus(unit: fields["Id"] ?? "", loadState: fields["LoadState"] ?? "",
                             activeState: fields["ActiveState"] ?? "", subState: fields["SubState"] ?? "",
                             unitFileState: fields["UnitFileState"] ?? "", mainPID: Int(fields["MainPID"] ?? "") ?? 0,
                             restarts: Int(fields["NRestarts"] ?? "") ?? 0, result: fields["Result"] ?? "",
                             startedAt: fields["ExecMainStartTimestamp"] ?? "",
                             memoryBytes: fields["MemoryCurrent"].flatMap { Int($0) })
    }

    /// One journal line of `journal` (journalctl --output=short-iso).
    public struct JournalEntry: Codable, Sendable, Equatable {
        public var timestamp: String
        public var host: String
        public var identifier: String
        public var pid: Int?
        public var message: String
    }

    /// Reads short-iso lines: `2026-11-21T09:40:41+0000 host ident[pid]: message`.
    public static func journalEntries(_ text: String) -> [JournalEntry] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count == 4, parts[0].count >= 19, parts[0].contains("T"), parts[2].hasSuffix(":") else { return nil }
            var identifier = String(parts[2].dropLast())
            var pid: Int?
            if identifier.hasSuffix("]"), let open = identifier.lastIndex(of: "[") {
                pid = Int(identifier[identifier.index(after: open)..<identifier.index(before: identifier.endIndex)])
                identifier = String(identifier[..<open])
            }
            return JournalEntry(timestamp: String(parts[0]), host: String(parts[1]), identifier: identifier, pid: pid,
                                message: String(parts[3]))
        }
    }

    /// One socket of `listening` (ss -H -t -u -l -n -p).
    public struct ListeningSocket: Codable, Sendable, Equatable {
        public var protocolName: String
        public var address: String
        public var port: Int
        public var process: String?
    }

    /// Reads `ss -H -t -u -l -n -p` lines: `tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))`.
    public static func listeningSockets(_ text: String) -> [ListeningSocket] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard parts.count >= 5, let colon = parts[4].lastIndex(of: ":"),
                  let port = Int(parts[4][parts[4].index(after: colon)...]) else { return nil }
            var address = String(parts[4][..<colon])
            if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
            var process: String?
            if parts.count > 6, let start = parts[6].range(of: "((\""), let end = parts[6][start.upperBound...].firstIndex(of: "\"") {
                process = String(parts[6][start.upperBound..<end])
            }
            return ListeningSocket(protocolName: parts[0], address: address, port: port, process: process)
        }
    }
}

extension String {
    /// The string without `suffix` at its end, if it has it.
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

import Foundation

extension WrapperOutput {
    /// One process of `processes` (ps -eo pid,ppid,user,pcpu,pmem,rss,stat,etimes,comm).
    public struct ProcessEntry: Codable, Sendable, Equatable {
        public var pid: Int
        public var ppid: Int
        public var user: String
        public var cpuPercent: Double
        public var memPercent: Double
        public var rssBytes: Int
        public var state: String
        public var elapsedSeconds: Int
        public var command: String
    }

    /// Reads headerless ps lines (RSS in KiB; the command name may contain spaces).
    public static func processes(_ text: String) -> [ProcessEntry] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 8, omittingEmptySubsequences: true).map(String.init)
            guard parts.count == 9, let pid = Int(parts[0]), let ppid = Int(parts[1]), let cpu = Double(parts[3]),
                  let mem = Double(parts[4]), let rss = Int(parts[5]), let elapsed = Int(parts[7]) else { return nil }
            return ProcessEntry(pid: pid, ppid: ppid, user: parts[2], cpuPercent: cpu, memPercent: mem, rssBytes: rss * 1024,
                                state: parts[6], elapsedSeconds: elapsed, command: parts[8])
        }
    }

    /// `process` (ps -o pid,ppid,user,pcpu,pmem,rss,vsz,stat,lstart,etimes,args -p PID).
    public struct ProcessDetail: Codable, Sendable, Equatable {
        public var pid: Int
        public var ppid: Int
        public var user: String
        public var cpuPercent: Double
        public var memPercent: Double
        public var rssBytes: Int
        public var virtualBytes: Int
        public var state: String
        /// ps's `lstart`, for example `Sat Nov 21 08:13:03 2026` (the host's local time).
        public var startedAt: String
        public var elapsedSeconds: Int
        public var commandLine: String
    }

    /// Reads the line under ps's header; fails when ps listed no process.
    public static func processDetail(_ text: String) throws(ParseFailure) -> ProcessDetail {
        for line in text.split(separator: "\n").dropFirst() {
            // lstart is five words: weekday month day time year.
            let parts = line.split(separator: " ", maxSplits: 14, omittingEmptySubsequences: true).map(String.init)
            guard parts.count >= 14, let pid = Int(parts[0]), let ppid = Int(parts[1]), let cpu = Double(parts[3]),
                  let mem = Double(parts[4]), let rss = Int(parts[5]), let vsz = Int(parts[6]), let elapsed = Int(parts[13])
            else { continue }
            return ProcessDetail(pid: pid, ppid: ppid, user: parts[2], cpuPercent: cpu, memPercent: mem, rssBytes: rss * 1024,
                                 virtualBytes: vsz * 1024, state: parts[7], startedAt: parts[8...12].joined(separator: " "),
                                 elapsedSeconds: elapsed, commandLine: parts.count > 14 ? parts[14] : "")
        }
        throw ParseFailure("no process with this PID")
    }

    /// One directory of `largest-dirs` (du -B1, largest first).
    public struct DirectorySize: Codable, Sendable, Equatable {
        public var path: String
        public var bytes: Int
    }

    /// Reads `BYTES<TAB>PATH` lines.
    public static func directorySizes(_ text: String) -> [DirectorySize] {
        text.split(separator: "\n").compactMap { line in
            guard let tab = line.firstIndex(of: "\t"), let bytes = Int(line[..<tab]) else { return nil }
            return DirectorySize(path: String(line[line.index(after: tab)...]), bytes: bytes)
        }
    }

    /// One container of `containers` (podman or docker).
    public struct Container: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var image: String
        public var state: String
        public var status: String
    }

    /// Reads `podman ps --format json` (one array) or `docker ps --format '{{json .}}'` (one object a line).
    public static func containers(_ text: String) -> [Container] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var objects: [[String: Any]] = []
        if trimmed.hasPrefix("[") {
            objects = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [[String: Any]]) ?? []
        } else {
            objects = trimmed.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        return objects.map { object in
            let names = (object["Names"] as? [String])?.first ?? (object["Names"] as? String) ?? ""
            return Container(id: (object["Id"] ?? object["ID"]) as? String ?? "", name: names,
                             image: object["Image"] as? String ?? "", state: object["State"] as? String ?? "",
                             status: object["Status"] as? String ?? "")
        }
    }

    /// `fail2ban status` (the jail list) and `fail2ban status JAIL`.
    public struct Fail2banJail: Codable, Sendable, Equatable {
        public var jail: String
        public var currentlyFailed: Int
        public var totalFailed: Int
        public var currentlyBanned: Int
        public var totalBanned: Int
        public var bannedAddresses: [String]
    }

    /// Reads `|- Jail list:\tsshd, nginx`.
    public static func fail2banJails(_ text: String) -> [String] {
        fail2banFields(text)["Jail list"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
    }

    /// Reads one jail's counters and banned addresses.
    public static func fail2banJail(_ text: String) throws(ParseFailure) -> Fail2banJail {
        let fields = fail2banFields(text)
        guard let name = text.split(separator: "\n").first.flatMap({ $0.split(separator: ":", maxSplits: 1).last })?
            .trimmingCharacters(in: .whitespaces), text.hasPrefix("Status for the jail:") else {
            throw ParseFailure("fail2ban printed no jail status")
        }
        func number(_ key: String) -> Int { Int(fields[key] ?? "") ?? 0 }
        return Fail2banJail(jail: name, currentlyFailed: number("Currently failed"), totalFailed: number("Total failed"),
                            currentlyBanned: number("Currently banned"), totalBanned: number("Total banned"),
                            bannedAddresses: (fields["Banned IP list"] ?? "").split(separator: " ").map(String.init))
    }

    /// `KEY:\tVALUE` pairs of fail2ban's tree output, the tree drawing removed.
    static func fail2banFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].drop { "|`- ".contains($0) }
            fields[String(key)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}

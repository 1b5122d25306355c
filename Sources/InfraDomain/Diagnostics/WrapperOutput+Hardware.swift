import Foundation

extension WrapperOutput {
    /// `cpu` (lscpu --json) with the load averages of `uptime`.
    public struct CPUInfo: Codable, Sendable, Equatable {
        public var architecture: String
        public var vendor: String
        public var modelName: String
        public var cpus: Int
        public var threadsPerCore: Int
        public var coresPerSocket: Int
        public var sockets: Int
        public var maxMHz: Double?
        public var load1: Double
        public var load5: Double
        public var load15: Double
    }

    /// Reads `lscpu --json` (flat or nested `children`) and /proc/loadavg.
    public static func cpuInfo(lscpu: String, uptime: String) -> CPUInfo {
        var fields: [String: String] = [:]
        func walk(_ entries: [Any]) {
            for case let entry as [String: Any] in entries {
                if let field = entry["field"] as? String, let data = entry["data"] as? String {
                    fields[field.trimmingSuffix(":")] = data
                }
                if let children = entry["children"] as? [Any] { walk(children) }
            }
        }
        if let root = try? JSONSerialization.jsonObject(with: Data(lscpu.utf8)) as? [String: Any],
           let entries = root["lscpu"] as? [Any] {
            walk(entries)
        }
        let system = systemInfo(osRelease: "", uname: "", uptime: uptime)
        return CPUInfo(architecture: fields["Architecture"] ?? "", vendor: fields["Vendor ID"] ?? "",
                       modelName: fields["Model name"] ?? "", cpus: Int(fields["CPU(s)"] ?? "") ?? 0,
                       threadsPerCore: Int(fields["Thread(s) per core"] ?? "") ?? 0,
                       coresPerSocket: Int(fields["Core(s) per socket"] ?? "") ?? 0,
                       sockets: Int(fields["Socket(s)"] ?? "") ?? 0,
                       maxMHz: fields["CPU max MHz"].flatMap { Double($0) },
                       load1: system.load1, load5: system.load5, load15: system.load15)
    }

    /// One device of `block-devices` (lsblk --json --bytes), children flattened with their parent's name.
    public struct BlockDevice: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public var sizeBytes: Int
        public var fsType: String?
        public var mountPoint: String?
        public var model: String?
        public var parent: String?
    }

    /// Reads `lsblk --json --bytes -o NAME,TYPE,SIZE,FSTYPE,MOUNTPOINT,MODEL` (sizes as numbers or strings).
    public static func blockDevices(_ text: String) -> [BlockDevice] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let devices = root["blockdevices"] as? [Any] else { return [] }
        var result: [BlockDevice] = []
        func walk(_ entries: [Any], parent: String?) {
            for case let entry as [String: Any] in entries {
                guard let name = entry["name"] as? String else { continue }
                let size = (entry["size"] as? Int) ?? (entry["size"] as? String).flatMap { Int($0) } ?? 0
                func text(_ key: String) -> String? {
                    (entry[key] as? String).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
                }
                result.append(BlockDevice(name: name, type: text("type") ?? "", sizeBytes: size, fsType: text("fstype"),
                                          mountPoint: text("mountpoint"), model: text("model"), parent: parent))
                if let children = entry["children"] as? [Any] { walk(children, parent: name) }
            }
        }
        walk(devices, parent: nil)
        return result
    }

    /// `hardware`: the virtualisation and the DMI identity (absent in containers and some VMs).
    public struct HardwareInfo: Codable, Sendable, Equatable {
        public var virtualization: String
        public var vendor: String?
        public var product: String?
        public var biosVersion: String?
        public var chassisType: String?
    }

    /// Reads `virtualization:KIND` and `grep -H` lines `/sys/class/dmi/id/FIELD:VALUE`.
    public static func hardwareInfo(_ text: String) -> HardwareInfo {
        var info = HardwareInfo(virtualization: "unknown")
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon], value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            switch key {
            case "virtualization": info.virtualization = value
            case "/sys/class/dmi/id/sys_vendor": info.vendor = value
            case "/sys/class/dmi/id/product_name": info.product = value
            case "/sys/class/dmi/id/bios_version": info.biosVersion = value
            case "/sys/class/dmi/id/chassis_type": info.chassisType = value
            default: continue
            }
        }
        return info
    }
}

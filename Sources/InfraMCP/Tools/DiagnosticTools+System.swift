import InfraDomain
import MCP

extension DiagnosticTools {
    /// System: identity, CPU, memory, file systems, block devices, hardware.
    static let system: [DiagnosticTool] = [
        DiagnosticTool(
            name: "get_system_info", title: "System information",
            description: "OS name and version, kernel, architecture, hostname, uptime and load averages of one host, a group or a list.",
            fansOut: true, arguments: [],
            dataSchema: object(["hostname": string, "osName": string, "osVersion": string, "osID": string, "kernel": string,
                                "architecture": string, "uptimeSeconds": number, "load1": number, "load5": number, "load15": number]),
            requests: { _ in ["os", "kernel", "uptime"] },
            parse: { try encode(WrapperOutput.systemInfo(osRelease: $0[0], uname: $0[1], uptime: $0[2])) }),
        DiagnosticTool(
            name: "get_cpu_info", title: "CPU",
            description: "CPU model, vendor, count, topology and maximum frequency of one host (lscpu), with its load averages.",
            fansOut: false, arguments: [],
            dataSchema: object(["architecture": string, "vendor": string, "modelName": string, "cpus": integer,
                                "threadsPerCore": integer, "coresPerSocket": integer, "sockets": integer, "maxMHz": number,
                                "load1": number, "load5": number, "load15": number], optional: ["maxMHz"]),
            requests: { _ in ["cpu", "uptime"] },
            parse: { try encode(WrapperOutput.cpuInfo(lscpu: $0[0], uptime: $0[1])) }),
        DiagnosticTool(
            name: "get_memory_info", title: "Memory",
            description: "Memory and swap of one host in bytes (from /proc/meminfo), with the used percentage.",
            fansOut: false, arguments: [],
            dataSchema: object(["totalBytes": integer, "availableBytes": integer, "freeBytes": integer, "buffersBytes": integer,
                                "cachedBytes": integer, "swapTotalBytes": integer, "swapFreeBytes": integer, "usedPercent": number]),
            requests: { _ in ["memory"] },
            parse: { try encode(WrapperOutput.memoryInfo($0[0])) }),
        DiagnosticTool(
            name: "get_disk_usage", title: "Disk usage",
            description: "Mounted file systems (no tmpfs or overlays) with size, used and available bytes, of one host, a group or a list.",
            fansOut: true, arguments: [],
            dataSchema: object(["fileSystems": array(object([
                "device": string, "type": string, "sizeBytes": integer, "usedBytes": integer, "availableBytes": integer,
                "usedPercent": integer, "mountPoint": string]))]),
            requests: { _ in ["disks"] },
            parse: { try encode(["fileSystems": WrapperOutput.fileSystems($0[0])]) }),
        DiagnosticTool(
            name: "get_block_devices", title: "Block devices",
            description: "Disks, partitions and other block devices of one host (lsblk) with size, file system, mount point and model.",
            fansOut: false, arguments: [],
            dataSchema: object(["devices": array(object([
                "name": string, "type": string, "sizeBytes": integer, "fsType": string, "mountPoint": string,
                "model": string, "parent": string], optional: ["fsType", "mountPoint", "model", "parent"]))]),
            requests: { _ in ["block-devices"] },
            parse: { try encode(["devices": WrapperOutput.blockDevices($0[0])]) }),
        DiagnosticTool(
            name: "get_hardware_info", title: "Hardware",
            description: "Virtualisation (systemd-detect-virt) and DMI vendor, product, BIOS version and chassis type of one host, where the host has DMI.",
            fansOut: false, arguments: [],
            dataSchema: object(["virtualization": string, "vendor": string, "product": string, "biosVersion": string,
                                "chassisType": string], optional: ["vendor", "product", "biosVersion", "chassisType"]),
            requests: { _ in ["hardware"] },
            parse: { try encode(WrapperOutput.hardwareInfo($0[0])) }),
    ]
}

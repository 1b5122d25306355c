import Foundation
import InfraDomain
import MCP

/// The read-only diagnostic tools, each mapped to mcp-wrapper verbs and a typed parser (InfraDomain.WrapperOutput).
public enum DiagnosticTools {
    static let unitPattern = "[A-Za-z0-9][A-Za-z0-9_.@:-]{0,126}"

    /// Every tool, in the order tools/list shows them.
    public static let all: [DiagnosticTool] = [
        DiagnosticTool(
            name: "get_system_info", title: "System information",
            description: "OS name and version, kernel, architecture, hostname, uptime and load averages of one host, a group or a list.",
            fansOut: true, arguments: [],
            dataSchema: object(["hostname": string, "osName": string, "osVersion": string, "osID": string, "kernel": string,
                                "architecture": string, "uptimeSeconds": number, "load1": number, "load5": number, "load15": number]),
            requests: { _ in ["os", "kernel", "uptime"] },
            parse: { try encode(WrapperOutput.systemInfo(osRelease: $0[0], uname: $0[1], uptime: $0[2])) }),
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
            dataSchema: object(["fileSystems": .object(["type": "array", "items": object([
                "device": string, "type": string, "sizeBytes": integer, "usedBytes": integer, "availableBytes": integer,
                "usedPercent": integer, "mountPoint": string])])]),
            requests: { _ in ["disks"] },
            parse: { try encode(["fileSystems": WrapperOutput.fileSystems($0[0])]) }),
        DiagnosticTool(
            name: "get_service_status", title: "Service status",
            description: "State of one systemd unit (load, active and sub state, main PID, restarts, start time) on one host, a group or a list.",
            fansOut: true,
            arguments: [ToolArgument("unit", .pattern(unitPattern, maxLength: 127, example: "nginx.service"), required: true,
                                     "A systemd unit name; it cannot start with '-'.")],
            dataSchema: object(["unit": string, "loadState": string, "activeState": string, "subState": string,
                                "unitFileState": string, "mainPID": integer, "restarts": integer, "result": string,
                                "startedAt": string, "memoryBytes": integer], optional: ["memoryBytes"]),
            requests: { ["unit-show unit=\($0["unit"]!)"] },
            parse: { try encode(WrapperOutput.serviceStatus($0[0])) }),
        DiagnosticTool(
            name: "get_journal_logs", title: "Journal",
            description: "Recent journal entries of one host, optionally of one unit, from a priority up, since a time, containing a word.",
            fansOut: false,
            arguments: [
                ToolArgument("unit", .pattern(unitPattern, maxLength: 127, example: "ssh.service"), "Only this unit's entries."),
                ToolArgument("priority", .choice(["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]),
                             "This priority and more severe ones."),
                ToolArgument("since", .pattern("-[0-9]{1,4}(s|min|m|h|d|w)|today|yesterday|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?",
                                               maxLength: 19, example: "-1h"), "Start time: relative (-30min, -2h, -1d), today, yesterday or YYYY-MM-DD[THH:MM[:SS]]."),
                ToolArgument("lines", .integer(min: 1, max: 1000), "At most this many entries, newest last (default 100)."),
                ToolArgument("grep", .pattern("[A-Za-z0-9._:@/+,-]{1,128}", maxLength: 128, example: "timeout"),
                             "Only entries containing this text (case-insensitive)."),
            ],
            dataSchema: object(["entries": .object(["type": "array", "items": object([
                "timestamp": string, "host": string, "identifier": string, "pid": integer,
                "message": string], optional: ["pid"])])]),
            requests: { words in
                ["journal" + ["unit", "priority", "since", "lines", "grep"].compactMap { key in words[key].map { " \(key)=\($0)" } }.joined()]
            },
            parse: { try encode(["entries": WrapperOutput.journalEntries($0[0])]) }),
        DiagnosticTool(
            name: "get_listening_ports", title: "Listening ports",
            description: "TCP and UDP sockets listening on one host, a group or a list (protocol, address, port, process when visible).",
            fansOut: true, arguments: [],
            dataSchema: object(["sockets": .object(["type": "array", "items": object([
                "protocolName": string, "address": string, "port": integer, "process": string], optional: ["process"])])]),
            requests: { _ in ["listening"] },
            parse: { try encode(["sockets": WrapperOutput.listeningSockets($0[0])]) }),
    ]

    static let string: Value = .object(["type": "string"])
    static let integer: Value = .object(["type": "integer"])
    static let number: Value = .object(["type": "number"])

    /// An object schema whose properties are all required but the `optional` ones (absent when unknown).
    static func object(_ properties: [String: Value], optional: Set<String> = []) -> Value {
        .object(["type": "object", "properties": .object(properties),
                 "required": .array(properties.keys.filter { !optional.contains($0) }.sorted().map { .string($0) })])
    }

    /// A Codable value as an MCP JSON value.
    static func encode<T: Encodable>(_ value: T) throws -> Value {
        try JSONDecoder().decode(Value.self, from: JSONEncoder().encode(value))
    }
}

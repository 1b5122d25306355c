import InfraDomain
import MCP

extension DiagnosticTools {
    /// Services: systemd units, their state, logs and health.
    static let services: [DiagnosticTool] = [
        DiagnosticTool(
            name: "list_services", title: "Services",
            description: "systemd units of one host with their load, active and sub state; by default the running services.",
            fansOut: false,
            arguments: [
                ToolArgument("state", .choice(["running", "failed", "active", "inactive", "all"]), "Which units (default running)."),
                ToolArgument("type", .choice(["service", "timer", "socket", "mount", "target"]), "Unit type (default service)."),
            ],
            dataSchema: object(["units": array(object(["unit": string, "loadState": string, "activeState": string,
                                                       "subState": string, "description": string]))]),
            requests: { [request("units", $0, ["state", "type"])] },
            parse: { try encode(["units": WrapperOutput.units($0[0])]) }),
        DiagnosticTool(
            name: "get_service_status", title: "Service status",
            description: "State of one systemd unit (load, active and sub state, main PID, restarts, start time) on one host, a group or a list.",
            fansOut: true, arguments: [unitArgument],
            dataSchema: object(["unit": string, "loadState": string, "activeState": string, "subState": string,
                                "unitFileState": string, "mainPID": integer, "restarts": integer, "result": string,
                                "startedAt": string, "memoryBytes": integer], optional: ["memoryBytes"]),
            requests: { [request("unit-show", $0, ["unit"])] },
            parse: { try encode(WrapperOutput.serviceStatus($0[0])) }),
        DiagnosticTool(
            name: "get_service_logs", title: "Service logs",
            description: "Recent journal entries of one systemd unit on one host, optionally from a priority up and since a time.",
            fansOut: false,
            arguments: [unitArgument, priorityArgument, sinceArgument,
                        ToolArgument("lines", .integer(min: 1, max: 1000), "At most this many entries, newest last (default 100).")],
            dataSchema: object(["entries": array(journalEntry)]),
            acceptedExitCodes: [0, 1],
            requests: { [request("journal", $0, ["unit", "priority", "since", "lines"])] },
            parse: { try encode(["entries": WrapperOutput.journalEntries($0[0])]) }),
        DiagnosticTool(
            name: "check_service_health", title: "Service health",
            description: "A verdict on one systemd unit on one host, a group or a list: healthy when loaded, active, its last run "
                + "succeeded and it logged no error-level entries in the last hour; otherwise the problems found.",
            fansOut: true, arguments: [unitArgument],
            dataSchema: object(["unit": string, "healthy": boolean, "problems": strings, "activeState": string,
                                "subState": string, "mainPID": integer, "restarts": integer, "result": string,
                                "recentErrors": array(journalEntry)]),
            acceptedExitCodes: [0, 1],
            requests: { words in
                [request("unit-show", words, ["unit"]), request("journal", words.merging(["priority": "err", "since": "-1h", "lines": "20"]) { $1 },
                                                                ["unit", "priority", "since", "lines"])]
            },
            parse: { try encode(WrapperOutput.serviceHealth(show: $0[0], errors: $0[1])) }),
    ]
}

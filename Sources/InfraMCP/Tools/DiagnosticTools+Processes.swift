import InfraDomain
import MCP

extension DiagnosticTools {
    static let processEntry: Value = object([
        "pid": integer, "ppid": integer, "user": string, "cpuPercent": number, "memPercent": number, "rssBytes": integer,
        "state": string, "elapsedSeconds": integer, "command": string])

    /// Processes and storage.
    static let processes: [DiagnosticTool] = [
        DiagnosticTool(
            name: "list_processes", title: "Processes",
            description: "The processes of one host using the most CPU or memory (ps), with user, CPU and memory share, RSS, state and age.",
            fansOut: false,
            arguments: [
                ToolArgument("sort", .choice(["cpu", "mem"]), "Order by CPU or memory share (default cpu)."),
                ToolArgument("limit", .integer(min: 1, max: 500), "How many processes (default 50)."),
            ],
            dataSchema: object(["processes": array(processEntry)]),
            requests: { [request("processes", $0, ["sort", "limit"])] },
            parse: { try encode(["processes": WrapperOutput.processes($0[0])]) }),
        DiagnosticTool(
            name: "get_process_info", title: "Process",
            description: "One process of one host by PID: parent, user, CPU and memory, start time, age and full command line.",
            fansOut: false,
            arguments: [ToolArgument("pid", .integer(min: 1, max: 4_194_304), required: true, "The process ID.")],
            dataSchema: object(["pid": integer, "ppid": integer, "user": string, "cpuPercent": number, "memPercent": number,
                                "rssBytes": integer, "virtualBytes": integer, "state": string, "startedAt": string,
                                "elapsedSeconds": integer, "commandLine": string]),
            acceptedExitCodes: [0, 1],
            requests: { [request("process", $0, ["pid"])] },
            parse: { try encode(WrapperOutput.processDetail($0[0])) }),
        DiagnosticTool(
            name: "list_largest_directories", title: "Largest directories",
            description: "The largest directories under a path of one host (du, one file system), largest first. "
                + "Only paths under the host's allowed roots (default /var).",
            fansOut: false,
            arguments: [
                ToolArgument("path", .path(example: "/var/log"), required: true, "Where to start."),
                ToolArgument("depth", .integer(min: 1, max: 3), "How many levels below the path (default 1)."),
                ToolArgument("limit", .integer(min: 1, max: 100), "How many directories (default 20)."),
            ],
            dataSchema: object(["directories": array(object(["path": string, "bytes": integer]))]),
            requests: { [request("largest-dirs", $0, ["path", "depth", "limit"])] },
            parse: { try encode(["directories": WrapperOutput.directorySizes($0[0])]) }),
    ]
}

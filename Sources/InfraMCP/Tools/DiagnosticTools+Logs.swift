import InfraDomain
import MCP

extension DiagnosticTools {
    /// Logs: the journal, log files under the allowed roots, and an error summary.
    static let logs: [DiagnosticTool] = [
        DiagnosticTool(
            name: "get_journal_logs", title: "Journal",
            description: "Recent journal entries of one host, optionally of one unit, from a priority up, since a time, containing a word.",
            fansOut: false,
            arguments: [
                ToolArgument("unit", .pattern(unitPattern, maxLength: 127, example: "ssh.service"), "Only this unit's entries."),
                priorityArgument, sinceArgument,
                ToolArgument("lines", .integer(min: 1, max: 1000), "At most this many entries, newest last (default 100)."),
                ToolArgument("grep", .pattern(wordPattern, maxLength: 128, example: "timeout"),
                             "Only entries containing this text (case-insensitive)."),
            ],
            dataSchema: object(["entries": array(journalEntry)]),
            acceptedExitCodes: [0, 1],
            requests: { [request("journal", $0, ["unit", "priority", "since", "lines", "grep"])] },
            parse: { try encode(["entries": WrapperOutput.journalEntries($0[0])]) }),
        DiagnosticTool(
            name: "read_log_file", title: "Log file",
            description: "The last lines of a log file of one host. Only files under the host's allowed log roots (default /var/log) can be read.",
            fansOut: false,
            arguments: [
                ToolArgument("path", .path(example: "/var/log/syslog"), required: true, "The log file."),
                ToolArgument("lines", .integer(min: 1, max: 10000), "How many last lines (default 100)."),
            ],
            dataSchema: object(["lines": strings]),
            requests: { [request("log-tail", $0, ["path", "lines"])] },
            parse: { try encode(["lines": WrapperOutput.lines($0[0])]) }),
        DiagnosticTool(
            name: "search_logs", title: "Log search",
            description: "Lines of a log file of one host that contain a text (case-insensitive), with their line numbers. "
                + "Only files under the host's allowed log roots (default /var/log).",
            fansOut: false,
            arguments: [
                ToolArgument("path", .path(example: "/var/log/auth.log"), required: true, "The log file."),
                ToolArgument("grep", .pattern(wordPattern, maxLength: 128, example: "Failed"), required: true, "The text to find."),
                ToolArgument("lines", .integer(min: 1, max: 10000), "At most this many matches (default 100)."),
            ],
            dataSchema: object(["matches": array(object(["line": integer, "text": string]))]),
            acceptedExitCodes: [0, 1],
            requests: { [request("log-search", $0, ["path", "grep", "lines"])] },
            parse: { try encode(["matches": WrapperOutput.logMatches($0[0])]) }),
        DiagnosticTool(
            name: "analyze_errors", title: "Error analysis",
            description: "Error-level journal entries (priority err and worse) of one host, a group or a list since a time "
                + "(default the last 24 h, at most 1000 entries), counted by program and by recurring message.",
            fansOut: true, arguments: [sinceArgument],
            dataSchema: object([
                "total": integer, "first": string, "last": string,
                "byIdentifier": array(object(["identifier": string, "count": integer])),
                "topMessages": array(object(["identifier": string, "pattern": string, "count": integer, "example": string])),
            ], optional: ["first", "last"]),
            acceptedExitCodes: [0, 1],
            requests: { words in
                [request("journal", ["priority": "err", "since": words["since"] ?? "-24h", "lines": "1000"], ["priority", "since", "lines"])]
            },
            parse: { try encode(WrapperOutput.errorAnalysis($0[0])) }),
    ]
}

import InfraDomain
import MCP

extension DiagnosticTools {
    /// Containers and fail2ban.
    static let extras: [DiagnosticTool] = [
        DiagnosticTool(
            name: "list_containers", title: "Containers",
            description: "Containers of one host, running or not (podman, else docker): ID, name, image, state, status.",
            fansOut: false, arguments: [],
            dataSchema: object(["containers": array(object(["id": string, "name": string, "image": string, "state": string,
                                                            "status": string]))]),
            requests: { _ in ["containers"] },
            parse: { try encode(["containers": WrapperOutput.containers($0[0])]) }),
        DiagnosticTool(
            name: "get_container_logs", title: "Container logs",
            description: "The last lines a container of one host wrote to its standard output (podman or docker logs). "
                + "Only containers the host's mcp_allowed_containers lists.",
            fansOut: false,
            arguments: [
                ToolArgument("name", .pattern(ContainerName.pattern, maxLength: 128, example: "web"), required: true, "Container name or ID."),
                ToolArgument("lines", .integer(min: 1, max: 1000), "How many last lines (default 100)."),
            ],
            dataSchema: object(["lines": strings]),
            egress: [.container(argument: "name")],
            requests: { [request("container-logs", $0, ["name", "lines"])] },
            parse: { try encode(["lines": WrapperOutput.lines($0[0])]) }),
        DiagnosticTool(
            name: "get_fail2ban_status", title: "fail2ban",
            description: "fail2ban's jails on one host and, for a named jail, its failure and ban counters and banned addresses. "
                + "The host must allow it (Ansible role: mcp_infra_reader_fail2ban_status).",
            fansOut: false,
            arguments: [ToolArgument("jail", .pattern("[A-Za-z0-9_][A-Za-z0-9_-]{0,63}", maxLength: 64, example: "sshd"),
                                     "A jail to show in detail.")],
            dataSchema: object(["jails": strings, "jail": object([
                "jail": string, "currentlyFailed": integer, "totalFailed": integer, "currentlyBanned": integer,
                "totalBanned": integer, "bannedAddresses": strings])], optional: ["jail"]),
            requests: { words in ["fail2ban"] + (words["jail"] == nil ? [] : [request("fail2ban", words, ["jail"])]) },
            parse: { outputs in
                var fields: [String: Value] = ["jails": try encode(WrapperOutput.fail2banJails(outputs[0]))]
                if outputs.count > 1 { fields["jail"] = try encode(WrapperOutput.fail2banJail(outputs[1])) }
                return .object(fields)
            }),
    ]
}

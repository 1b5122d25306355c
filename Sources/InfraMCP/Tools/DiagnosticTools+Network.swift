import InfraDomain
import MCP

extension DiagnosticTools {
    static let hostPattern = "[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:]{2,39}"
    static let urlPattern = "https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9._~/+,=:@-]*)?"

    /// Network: interfaces, routes, sockets, DNS, reachability from the host.
    static let network: [DiagnosticTool] = [
        DiagnosticTool(
            name: "get_network_interfaces", title: "Network interfaces",
            description: "Network interfaces of one host with state, MTU, MAC address, flags and IP addresses (ip address).",
            fansOut: false, arguments: [],
            dataSchema: object(["interfaces": array(object([
                "name": string, "state": string, "mtu": integer, "macAddress": string, "flags": strings,
                "addresses": array(object(["family": string, "address": string, "prefixLength": integer]))],
                optional: ["macAddress"]))]),
            requests: { _ in ["interfaces"] },
            parse: { try encode(["interfaces": WrapperOutput.networkInterfaces($0[0])]) }),
        DiagnosticTool(
            name: "get_routing_table", title: "Routing table",
            description: "The main IPv4 routing table of one host (ip route): destination, gateway, device, protocol, scope, source, metric.",
            fansOut: false, arguments: [],
            dataSchema: object(["routes": array(object([
                "destination": string, "gateway": string, "device": string, "protocolName": string, "scope": string,
                "source": string, "metric": integer], optional: ["gateway", "device", "protocolName", "scope", "source", "metric"]))]),
            requests: { _ in ["routes"] },
            parse: { try encode(["routes": WrapperOutput.routes($0[0])]) }),
        DiagnosticTool(
            name: "get_listening_ports", title: "Listening ports",
            description: "TCP and UDP sockets listening on one host, a group or a list (protocol, address, port, process when visible).",
            fansOut: true, arguments: [],
            dataSchema: object(["sockets": array(object([
                "protocolName": string, "address": string, "port": integer, "process": string], optional: ["process"]))]),
            requests: { _ in ["listening"] },
            parse: { try encode(["sockets": WrapperOutput.listeningSockets($0[0])]) }),
        DiagnosticTool(
            name: "get_active_connections", title: "Active connections",
            description: "TCP and UDP connections of one host (ss) in one state, by default established.",
            fansOut: false,
            arguments: [ToolArgument("state", .choice(["established", "syn-sent", "time-wait", "close-wait", "all"]),
                                     "Connection state (default established).")],
            dataSchema: object(["connections": array(object([
                "protocolName": string, "state": string, "localAddress": string, "localPort": integer,
                "peerAddress": string, "peerPort": integer], optional: ["state", "localPort", "peerPort"]))]),
            requests: { [request("connections", $0, ["state"])] },
            parse: { try encode(["connections": WrapperOutput.connections($0[0])]) }),
        DiagnosticTool(
            name: "get_dns_config", title: "DNS configuration",
            description: "The resolver configuration of one host (/etc/resolv.conf): name servers, search domains, options.",
            fansOut: false, arguments: [],
            dataSchema: object(["nameservers": strings, "search": strings, "options": strings]),
            requests: { _ in ["dns"] },
            parse: { try encode(WrapperOutput.dnsConfig($0[0])) }),
        DiagnosticTool(
            name: "test_connectivity", title: "Connectivity test",
            description: "Pings an address or name from one host (1-5 ICMP echo requests) and reports loss and round-trip times. "
                + "Only targets the host's mcp_ping_targets lists (list_hosts shows them); anything else is refused.",
            fansOut: false,
            arguments: [
                ToolArgument("target", .pattern(hostPattern, maxLength: 253, example: "192.0.2.10"), required: true,
                             "The address or DNS name to ping from the host."),
                ToolArgument("count", .integer(min: 1, max: 5), "Echo requests to send (default 3)."),
            ],
            dataSchema: object(["reachable": boolean, "transmitted": integer, "received": integer, "lossPercent": number,
                                "rttMinMs": number, "rttAvgMs": number, "rttMaxMs": number],
                               optional: ["rttMinMs", "rttAvgMs", "rttMaxMs"]),
            acceptedExitCodes: [0, 1], egress: [.ping(argument: "target")],
            requests: { words in [request("ping", ["host": words["target"]!, "count": words["count"] ?? "3"], ["host", "count"])] },
            parse: { try encode(WrapperOutput.ping($0[0])) }),
        DiagnosticTool(
            name: "check_http_endpoint", title: "HTTP check",
            description: "Requests a URL from one host (curl, no redirects followed, no proxy) and reports the status code, time and size. "
                + "Only URLs the host's mcp_http_checks lists (list_hosts shows them); link-local and metadata addresses never.",
            fansOut: false,
            arguments: [ToolArgument("url", .pattern(urlPattern, maxLength: 512, example: "http://127.0.0.1/health"), required: true,
                                     "An http or https URL without query string or credentials.")],
            dataSchema: object(["statusCode": integer, "timeSeconds": number, "bytes": integer]),
            egress: [.url(argument: "url")],
            requests: { [request("http-check", $0, ["url"])] },
            parse: { try encode(WrapperOutput.httpCheck($0[0])) }),
    ]
}

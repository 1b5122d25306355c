"""Drives `mcp-linux-infra serve` with the official MCP Python SDK over stdio and checks what it answers.

Usage: mcp_client_check.py SERVER_BINARY ENV_FILE SCENARIO_JSON
SCENARIO_JSON names the hosts: {"single": "t1", "group": "targets", "unreachable": "t3",
"mixed": "targets,t3", "unit": "unbound.service"}. Prints one JSON report on stdout; the Swift test
(Tests/EndToEndTests/MCPServerTests.swift) asserts on it. Exit 0 when the session itself worked.
"""
import asyncio
import json
import subprocess
import sys

import jsonschema
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main() -> None:
    binary, env_file, scenario = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    params = StdioServerParameters(command=binary, args=["serve", "--env-file", env_file])
    report = {"tools": {}, "calls": {}, "hostile": {}, "progress": []}
    with open(scenario["stderr"], "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                report["protocol"] = init.protocol_version
                report["instructions"] = init.instructions or ""
                listed = await session.list_tools()
                schemas = {}
                for tool in listed.tools:
                    a = tool.annotations
                    report["tools"][tool.name] = {
                        "readOnly": a.read_only_hint, "destructive": a.destructive_hint,
                        "idempotent": a.idempotent_hint, "openWorld": a.open_world_hint,
                        "hasOutputSchema": tool.output_schema is not None,
                        "input": tool.input_schema,
                    }
                    schemas[tool.name] = tool.output_schema

                async def call(name, arguments, key=None, progress=False):
                    handler = None
                    if progress:
                        async def handler(done, total, message):
                            report["progress"].append([done, total, message])
                    result = await session.call_tool(name, arguments, progress_callback=handler)
                    entry = {"isError": bool(result.is_error),
                             "text": "".join(c.text for c in result.content if getattr(c, "type", "") == "text"),
                             "structured": result.structured_content}
                    if result.structured_content is not None and schemas.get(name):
                        try:
                            jsonschema.validate(result.structured_content, schemas[name])
                            entry["schemaValid"] = True
                        except jsonschema.ValidationError as error:
                            entry["schemaValid"] = False
                            entry["schemaError"] = error.message
                    if key is not None and ":" in key:
                        kind, name_ = key.split(":", 1)
                        report.setdefault(kind, {})[name_] = entry
                    else:
                        report["calls"][key or name] = entry

                single, unit = scenario["single"], scenario["unit"]
                await call("list_hosts", {})
                await call("get_system_info", {"host": single})
                await call("get_memory_info", {"host": single})
                await call("get_disk_usage", {"host": single})
                await call("get_service_status", {"host": single, "unit": unit})
                await call("get_journal_logs", {"host": single, "unit": unit, "lines": 20})
                await call("get_listening_ports", {"host": single})
                await call("get_system_info", {"host": scenario["mixed"]}, key="fanout", progress=True)
                group = scenario["group"]
                await call("get_cpu_info", {"host": single})
                await call("get_block_devices", {"host": single})
                await call("get_hardware_info", {"host": single})
                await call("list_services", {"host": single, "state": "running"})
                await call("get_service_logs", {"host": single, "unit": unit, "lines": 20})
                await call("check_service_health", {"host": group, "unit": unit})
                await call("get_network_interfaces", {"host": single})
                await call("get_routing_table", {"host": single})
                await call("get_active_connections", {"host": single})
                await call("get_dns_config", {"host": single})
                await call("test_connectivity", {"host": single, "target": "127.0.0.1", "count": 1})
                await call("check_http_endpoint", {"host": single, "url": "http://127.0.0.1/"})
                await call("read_log_file", {"host": single, "path": "/var/log/fail2ban.log", "lines": 5})
                await call("search_logs", {"host": single, "path": "/var/log/fail2ban.log", "grep": "jail"})
                await call("analyze_errors", {"host": group, "since": "-1d"})
                await call("list_processes", {"host": single, "sort": "mem", "limit": 20})
                await call("get_process_info", {"host": single, "pid": 1})
                await call("list_largest_directories", {"host": single, "path": "/var", "limit": 5})
                await call("get_fail2ban_status", {"host": single, "jail": "sshd"})
                await call("list_hosts", {"probe": True}, key="list_hosts_probe")
                # No container runtime runs inside an nspawn target: expected errors, recorded apart.
                await call("list_containers", {"host": single}, key="unavailable:list_containers")
                await call("get_container_logs", {"host": single, "name": "web"}, key="unavailable:get_container_logs")
                resources = await session.list_resources()
                report["resources"] = sorted(str(r.uri) for r in resources.resources)
                catalogue = await session.read_resource("catalogue://actions")
                report["catalogue"] = json.loads(catalogue.contents[0].text)

                hostile = {
                    "unknown-host": ("get_system_info", {"host": "nosuchhost"}),
                    "group-unknown-member": ("get_system_info", {"host": scenario["group"] + ",nosuchhost"}),
                    "option-unit": ("get_service_status", {"host": single, "unit": "--host=x"}),
                    "dotdot-unit": ("get_service_status", {"host": single, "unit": "../../etc/passwd"}),
                    "huge-lines": ("get_journal_logs", {"host": single, "lines": 10**12}),
                    "control-chars": ("get_journal_logs", {"host": single, "grep": "a\nb"}),
                    "extra-argument": ("get_memory_info", {"host": single, "command": "id"}),
                    "group-for-single": ("get_memory_info", {"host": scenario["group"]}),
                    "host-injection": ("get_system_info", {"host": "t1;id"}),
                    "list-hosts-argument": ("list_hosts", {"host": "t1"}),
                    "dotdot-path": ("read_log_file", {"host": single, "path": "/var/log/../../etc/shadow"}),
                    "relative-path": ("search_logs", {"host": single, "path": "etc/passwd", "grep": "root"}),
                    "option-target": ("test_connectivity", {"host": single, "target": "-f"}),
                    "url-injection": ("check_http_endpoint", {"host": single, "url": "http://127.0.0.1/$(id)"}),
                    "huge-pid": ("get_process_info", {"host": single, "pid": 10**20}),
                    "fractional-count": ("test_connectivity", {"host": single, "target": "127.0.0.1", "count": 2.5}),
                    "bad-choice": ("list_services", {"host": single, "state": "running;reboot"}),
                    "option-jail": ("get_fail2ban_status", {"host": single, "jail": "-h"}),
                    "probe-not-bool": ("list_hosts", {"probe": "yes"}),
                }
                for key, (name, arguments) in hostile.items():
                    await call(name, arguments, key="hostile:" + key)
    report["raw"] = raw_stdout_check(binary, env_file, scenario["single"])
    json.dump(report, sys.stdout)


def raw_stdout_check(binary: str, env_file: str, host: str) -> dict:
    """Speaks JSON-RPC by hand and keeps every byte the server wrote to stdout: each line must be a
    JSON-RPC 2.0 message (logs belong on stderr)."""
    server = subprocess.Popen([binary, "serve", "--env-file", env_file], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []

    def send(message):
        server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()

    def answer(request_id):
        while True:
            line = server.stdout.readline()
            if not line:
                return None
            lines.append(line)
            message = json.loads(line)
            if message.get("id") == request_id:
                return message

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    answer(1)
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    answer(2)
    send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_system_info", "arguments": {"host": host}}})
    answer(3)
    send({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "get_system_info", "arguments": {"host": "nosuchhost"}}})
    answer(4)
    server.stdin.close()
    rest = server.stdout.read()
    lines.extend(line + "\n" for line in rest.splitlines() if line)
    stderr = server.stderr.read()
    server.wait(timeout=30)
    valid = 0
    for line in lines:
        try:
            message = json.loads(line)
            if message.get("jsonrpc") == "2.0":
                valid += 1
        except ValueError:
            pass
    return {"lines": len(lines), "jsonrpcLines": valid, "stderrBytes": len(stderr), "exit": server.returncode}


asyncio.run(main())

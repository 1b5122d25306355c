"""Drives `mcp-linux-infra serve` with the official MCP Python SDK over stdio and checks what it answers.

Usage: mcp_client_check.py SERVER_BINARY ENV_FILE SCENARIO_JSON
SCENARIO_JSON names the hosts: {"single": "t1", "group": "targets", "unreachable": "t3",
"mixed": "targets,t3", "unit": "unbound.service"}. Prints one JSON report on stdout; the Swift test
(Tests/EndToEndTests/MCPServerTests.swift) asserts on it. Exit 0 when the session itself worked.
"""
import asyncio
import json
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
                    if key is not None and key.startswith("hostile:"):
                        report["hostile"][key.removeprefix("hostile:")] = entry
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
                }
                for key, (name, arguments) in hostile.items():
                    await call(name, arguments, key="hostile:" + key)
    json.dump(report, sys.stdout)


asyncio.run(main())

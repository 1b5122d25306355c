"""The AI's side of the demo, with the official MCP Python client: what an assistant would call.

  demo_client.py SERVER ENV_FILE diagnose-and-propose HOST   prints the proposal's id on the last line
  demo_client.py SERVER ENV_FILE execute ID HOST              executes the approved action and checks the service

SERVER is the mcp-linux-infra binary (the client starts `serve` on stdio), or the http:// URL of a running
`serve --http` (Streamable HTTP; the bearer token is read from the environment variable MCP_INFRA_TOKEN).
"""
import asyncio
import contextlib
import json
import os
import sys

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


def show(label, value):
    print(f"    {label}: {value}")


@contextlib.asynccontextmanager
async def connect(server, env_file):
    """The (read, write) streams to the server: over stdio (a child process) or Streamable HTTP with a token."""
    if server.startswith("http://") or server.startswith("https://"):
        headers = {"Authorization": "Bearer " + os.environ["MCP_INFRA_TOKEN"]}
        async with httpx2.AsyncClient(headers=headers, timeout=300) as http:
            async with streamable_http_client(server, http_client=http) as streams:
                yield streams[0], streams[1]
    else:
        async with stdio_client(StdioServerParameters(command=server, args=["serve", "--env-file", env_file])) as (read, write):
            yield read, write


async def main():
    binary, env_file, phase = sys.argv[1], sys.argv[2], sys.argv[3]
    async with connect(binary, env_file) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()

            async def call(name, arguments):
                print(f"  -> tools/call {name} {json.dumps(arguments)}")
                result = await session.call_tool(name, arguments)
                if result.is_error:
                    print(f"  <- error: {result.content[0].text}")
                    raise SystemExit(1)
                return result.structured_content

            if phase == "diagnose-and-propose":
                host = sys.argv[4]
                print(f"  connected to {init.server_info.name} {init.server_info.version}, protocol {init.protocol_version}")
                tools = await session.list_tools()
                print(f"  {len(tools.tools)} tools; approve/reject among them: "
                      f"{any('approve' in t.name or 'reject' in t.name for t in tools.tools)}")
                status = (await call("get_service_status", {"host": host, "unit": "unbound.service"}))["results"][0]["data"]
                show("unbound.service", f"{status['activeState']} ({status['subState']}), result {status['result']}")
                health = (await call("check_service_health", {"host": host, "unit": "unbound.service"}))["results"][0]["data"]
                show("health", "; ".join(health["problems"]) or "healthy")
                action = (await call("propose_pra_action", {
                    "host": host, "action": "restart_unbound",
                    "rationale": f"get_service_status shows unbound.service {status['activeState']}; the host's DNS resolver is down."}))["action"]
                show("proposed", f"{action['action']} on {action['host']} (impact {action['impact']}), state {action['state']}")
                show("will run as root", " ".join(action["command"]))
                show("digest", action["digest"])
                show("expires", action["expiresAt"])
                show("next step", action["nextStep"])
                early = await session.call_tool("execute_pra_action", {"id": action["id"]})
                show("execute before approval", early.content[0].text)
                print(action["id"])
            else:
                action_id, host = sys.argv[4], sys.argv[5]
                action = (await call("execute_pra_action", {"id": action_id}))["action"]
                run = action.get("execution", {})
                show("state", action["state"])
                show("exit", run.get("exitCode"))
                show("verification", f"{run.get('verified')}: {run.get('verification')}")
                status = (await call("get_service_status", {"host": host, "unit": "unbound.service"}))["results"][0]["data"]
                show("unbound.service now", f"{status['activeState']} ({status['subState']}), main PID {status['mainPID']}")
                again = await session.call_tool("execute_pra_action", {"id": action_id})
                show("execute again", again.content[0].text)
                if action["state"] != "COMPLETED" or status["activeState"] != "active":
                    raise SystemExit(1)


asyncio.run(main())

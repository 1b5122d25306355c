"""Drives `mcp-linux-infra serve --http` with the official MCP Python SDK over Streamable HTTP, against a
role-deployed target, and checks the HTTP rules around it (tokens, Origin, sessions bound to their token).

Usage: http_story.py SCENARIO_JSON                 the story and the HTTP rules
       http_story.py SCENARIO_JSON propose RATIONALE   proposes restart_unbound; prints {"id": ...}
       http_story.py SCENARIO_JSON execute ID          executes ID; prints {"action": ..., "error": ...}
SCENARIO_JSON: {"base": "http://127.0.0.1:PORT", "token": ..., "other_token": ..., "binary": path, "env_file": path,
"host": "t1", "alice_key": path}. The test revokes nothing itself; it runs `tokens revoke` through the CLI.
Prints one JSON report on stdout; Tests/EndToEndTests/HTTPServeTests.swift asserts on it.
"""
import asyncio
import json
import subprocess
import sys
import threading
import time

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

scenario = json.loads(sys.argv[1])
base, host = scenario["base"], scenario["host"]
report = {}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw-check", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def cli(*args):
    done = subprocess.run([scenario["binary"], *args, "--env-file", scenario["env_file"]], capture_output=True, text=True, timeout=120)
    return [done.returncode, done.stdout + done.stderr]


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def call(session, name, arguments, progress=None):
    result = await session.call_tool(name, arguments, progress_callback=progress)
    return {"isError": bool(result.is_error), "text": text_of(result), "structured": result.structured_content}


def raw(method, path="/mcp", token=None, headers=None, body=None):
    """One plain HTTP request; returns status, the headers asked for, and the body's first 300 characters."""
    sent = dict(MCP_HEADERS)
    if token:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    with httpx2.Client(timeout=30) as client:
        response = client.request(method, base + path, headers=sent, content=json.dumps(body) if body is not None else None)
        return {"status": response.status_code, "wwwAuthenticate": response.headers.get("www-authenticate", ""),
                "session": response.headers.get("mcp-session-id", ""), "body": response.text[:300]}


async def story():
    progress = []
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {scenario['token']}"}, timeout=120) as http:
        async with streamable_http_client(base + "/mcp", http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                init = await session.initialize()
                report["protocol"] = init.protocol_version
                report["tools"] = sorted(t.name for t in (await session.list_tools()).tools)

                async def on_progress(done, total, message):
                    progress.append([done, total, message])

                # 1. Diagnose (a fan-out over the group, with progress): unbound is stopped.
                status = await call(session, "get_service_status", {"host": "all", "unit": "unbound.service"}, progress=on_progress)
                report["before"] = status["structured"]["results"][0]["data"]["activeState"]
                report["progress"] = progress
                # 2. Propose with a rationale.
                proposed = await call(session, "propose_pra_action", {"host": host, "action": "restart_unbound",
                                                                       "rationale": "get_service_status shows unbound.service inactive over HTTP."})
                action = (proposed["structured"] or {}).get("action") or {}
                report["proposed"] = action
                report["early"] = await call(session, "execute_pra_action", {"id": action["id"]})
                # 3. A human approves it with their own key (the CLI; the console does the same from a browser).
                report["approve"] = cli("actions", "approve", action["id"], "--digest", action["digest"], "--key", scenario["alice_key"])
                # 4. Execute once, then verify.
                executed = await call(session, "execute_pra_action", {"id": action["id"]})
                report["executed"] = (executed["structured"] or {}).get("action") or {}
                report["executedError"] = executed["text"] if executed["isError"] else ""
                after = await call(session, "get_service_status", {"host": host, "unit": "unbound.service"})
                report["after"] = after["structured"]["results"][0]["data"]["activeState"]
                # Cancel is the proposer's (the token's name): propose, then cancel from this session.
                second = await call(session, "propose_pra_action", {"host": host, "action": "flush_dns_cache",
                                                                     "rationale": "stale answers seen in get_journal_logs for unbound."})
                second_id = ((second["structured"] or {}).get("action") or {}).get("id", "")
                report["cancelled"] = ((await call(session, "cancel_pra_action", {"id": second_id, "reason": "not needed after the restart"}))
                                       ["structured"] or {}).get("action", {}).get("state")


def checks():
    token, other = scenario["token"], scenario["other_token"]
    report["healthz"] = raw("GET", "/healthz", headers={"Accept": "text/plain"})
    report["noToken"] = raw("POST", body=INIT)
    report["wrongToken"] = raw("POST", token="mlit_" + "A" * 43, body=INIT)
    report["evilOrigin"] = raw("POST", token=token, headers={"Origin": "http://evil.example"}, body=INIT)
    report["evilHost"] = raw("POST", token=token, headers={"Host": "evil.example:80"}, body=INIT)
    # Loopback, but another port than the one the server is bound to (it was started on port 0).
    report["otherPortOrigin"] = raw("POST", token=token, headers={"Origin": "http://127.0.0.1:1"}, body=INIT)
    report["noSession"] = raw("POST", token=token, body={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    # A session belongs to the token that opened it: another valid token cannot use its id.
    opened = raw("POST", token=token, body=INIT)
    report["opened"] = opened
    listing = {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}
    version = {"MCP-Protocol-Version": "2025-06-18"}
    report["otherTokenOnSession"] = raw("POST", token=other, headers={"MCP-Session-Id": opened["session"], **version}, body=listing)
    report["forgedSession"] = raw("POST", token=token, headers={"MCP-Session-Id": "x" * 43, **version}, body=listing)
    raw("POST", token=token, headers={"MCP-Session-Id": opened["session"], **version},
        body={"jsonrpc": "2.0", "method": "notifications/initialized"})
    report["ownTokenOnSession"] = raw("POST", token=token, headers={"MCP-Session-Id": opened["session"], **version}, body=listing)
    # No resumption: a GET with Last-Event-ID is refused, so no stream is ever left behind.
    report["resume"] = raw("GET", token=token, headers={"MCP-Session-Id": opened["session"], "Last-Event-ID": "_GET_stream_1", **version})
    # Revoked: the running server refuses it at once (it reads the tokens file again when it changes), and the
    # sessions it holds are closed by the server, their streams ended, without the token being presented again.
    other_session = raw("POST", token=other, body=INIT)
    report["otherBeforeRevoke"] = other_session
    raw("POST", token=other, headers={"MCP-Session-Id": other_session["session"], **version},
        body={"jsonrpc": "2.0", "method": "notifications/initialized"})
    stream_state = {"opened": False, "ended": False}

    def hold_stream():
        headers = {**MCP_HEADERS, "Authorization": f"Bearer {other}", "MCP-Session-Id": other_session["session"], **version}
        with httpx2.Client(timeout=120) as client:
            with client.stream("GET", base + "/mcp", headers=headers) as response:
                stream_state["opened"] = response.status_code == 200
                for _ in response.iter_bytes():
                    pass
                stream_state["ended"] = True

    holder = threading.Thread(target=hold_stream, daemon=True)
    holder.start()
    deadline = time.monotonic() + 30
    while not stream_state["opened"] and time.monotonic() < deadline:
        time.sleep(0.05)
    report["revoke"] = cli("tokens", "revoke", scenario["other_name"])
    holder.join(timeout=60)
    report["revokedStream"] = stream_state
    report["otherAfterRevoke"] = raw("POST", token=other, body=INIT)


async def one(phase, value):
    """One call in a session of its own: propose (with the rationale `value`) or execute (the id `value`)."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {scenario['token']}"}, timeout=300) as http:
        async with streamable_http_client(base + "/mcp", http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                if phase == "propose":
                    answer = await call(session, "propose_pra_action", {"host": host, "action": "restart_unbound", "rationale": value})
                    report["id"] = ((answer["structured"] or {}).get("action") or {}).get("id", "")
                    report["error"] = answer["text"] if answer["isError"] else ""
                else:
                    answer = await call(session, "execute_pra_action", {"id": value})
                    report["action"] = (answer["structured"] or {}).get("action") or {}
                    report["error"] = answer["text"] if answer["isError"] else ""


if len(sys.argv) > 2:
    asyncio.run(one(sys.argv[2], sys.argv[3]))
else:
    checks()
    asyncio.run(story())
print(json.dumps(report))

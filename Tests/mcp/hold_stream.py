"""Opens an MCP session over Streamable HTTP and holds its GET stream open, as an idle client would.

Usage: hold_stream.py BASE TOKEN
Prints "opened" once the stream answered 200, then "ended" when the server ends it (flushing each line).
"""
import json
import sys

import httpx2

base, token = sys.argv[1], sys.argv[2]
headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
with httpx2.Client(timeout=300) as client:
    opened = client.post(base + "/mcp", headers=headers, content=json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "holder", "version": "1"}}}))
    headers.update({"MCP-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"})
    client.post(base + "/mcp", headers=headers, content=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    with client.stream("GET", base + "/mcp", headers=headers) as response:
        print("opened" if response.status_code == 200 else f"refused {response.status_code}", flush=True)
        for _ in response.iter_bytes():
            pass
print("ended", flush=True)

"""Starts a long tools/call over Streamable HTTP and goes away before the answer, as a client that crashed.

Usage: disconnect_call.py BASE TOKEN TOOL HOST
Opens a session (initialize, initialized), then sends tools/call TOOL {"host": HOST} on a raw socket, reads
the SSE priming event, and closes the connection without reading the answer. Prints {"session": ..., "primed": bool}.
"""
import json
import socket
import sys
import urllib.parse

import httpx2

base, token, tool, host = sys.argv[1:5]
url = urllib.parse.urlparse(base)
headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
with httpx2.Client(timeout=60) as client:
    opened = client.post(base + "/mcp", headers=headers, content=json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "disconnect", "version": "1"}}}))
    session = opened.headers["mcp-session-id"]
    headers.update({"MCP-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"})
    client.post(base + "/mcp", headers=headers, content=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))

body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": {"host": host}}}).encode()
request = (f"POST /mcp HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {len(body)}\r\n"
           + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n").encode() + body
connection = socket.create_connection((url.hostname, url.port), timeout=60)
connection.sendall(request)
received = b""
while b"\r\n\r\n" not in received or b"\n\n" not in received.split(b"\r\n\r\n", 1)[1]:
    chunk = connection.recv(4096)
    if not chunk:
        break
    received += chunk
# Gone: the answer is never read.
connection.close()
print(json.dumps({"session": session, "primed": received.startswith(b"HTTP/1.1 200")}))

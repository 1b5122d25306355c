#!/usr/bin/env python3
"""Prints the time serve takes to read and answer one message of each size, just under and just over the
limit, and the cost per MiB (see message-bench.sh). Uses the raw client of Tests/mcp/raw_client.py."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "mcp"))
from raw_client import Server  # noqa: E402


def one(binary, env_file, stderr_path, limit, size):
    server = Server(binary, env_file, stderr_path, {"LINUX_MCP_MAX_MESSAGE_BYTES": str(limit)})
    server.initialize()
    head = b'{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"get_memory_info","arguments":{"host":"'
    tail = b'"}}}\n'
    body = head + b"x" * (size - len(head) - len(tail) + 1) + tail
    started = time.monotonic()
    view = memoryview(body)
    while view:
        written = os.write(server.inp, view[: 1 << 20])
        view = view[written:]
        server.pump(0)
    answer = server.answer(99, 120)
    elapsed = time.monotonic() - started
    server.close()
    server.wait_exit(30)
    code = "error " + str(answer["error"]["code"]) if answer and "error" in answer else ("tool error" if answer else "no answer")
    return elapsed, code


def main():
    binary, env_file, stderr_path = sys.argv[1:4]
    print("size      case         answer        seconds   ms per MiB")
    for mib in (1, 2, 4, 8):
        limit = mib << 20
        for name, size in (("just under", limit - 64), ("just over", limit + 64)):
            elapsed, code = one(binary, env_file, stderr_path, limit, size)
            print(f"{mib:>2} MiB    {name:<12} {code:<13} {elapsed:8.3f}   {elapsed * 1000 / mib:8.1f}")


if __name__ == "__main__":
    main()

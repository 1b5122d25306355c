"""MCP benchmark: mcp-linux-infra driven by the official MCP Python client, against OpenSSH and Ansible
doing the same work through the same forced command (mcp-wrapper) on the same loopback sshd.

Usage: mcp_bench.py SERVER_BINARY ENV_FILE BENCH_JSON   (bench/mcp-bench.sh prepares everything)
BENCH_JSON: {"single": host, "group": group of 100 hosts, "ssh": [ssh argv prefix], "address": ...,
"ansible": [ansible argv prefix], "iterations": N, "fanout_iterations": M}. Prints a table of medians and ratios,
the server's RSS and the busy refusals the fan-out met (counted in the audit log: the server retries them).
"""
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from bench_proc import audit_head, busy_attempts, env_setting, server_pid, status


def median_ms(samples):
    return statistics.median(samples) * 1000


def run(argv):
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({result.returncode}): {result.stderr.decode()[-500:]}")


async def session_of(binary, env_file):
    params = StdioServerParameters(command=binary, args=["serve", "--env-file", env_file])
    return stdio_client(params, errlog=open(os.devnull, "w"))


async def call_ok(session, name, arguments, hosts=1):
    result = await session.call_tool(name, arguments)
    if result.is_error:
        raise SystemExit(f"{name} failed: {result.content[0].text[:500]}")
    answered = [r for r in result.structured_content["results"] if r["ok"]]
    if len(answered) != hosts:
        failed = [r for r in result.structured_content["results"] if not r["ok"]][:3]
        raise SystemExit(f"{name}: {len(answered)} of {hosts} hosts answered: {failed}")


async def main():
    binary, env_file, bench = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    n, fan_n = bench["iterations"], bench["fanout_iterations"]
    single, group, hosts = bench["single"], bench["group"], bench["hosts"]
    rows = []

    # 1. One tool call (get_memory_info = mcp-wrapper `memory`) in a running session vs ssh over a ControlMaster.
    warm, cold = [], []
    async with await session_of(binary, env_file) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await call_ok(session, "get_memory_info", {"host": single})
            for _ in range(n):
                start = time.perf_counter()
                await call_ok(session, "get_memory_info", {"host": single})
                warm.append(time.perf_counter() - start)
    socket = bench["control_socket"]
    master = subprocess.Popen(bench["ssh"] + ["-M", "-N", "-S", socket, "-o", "ControlPersist=no", bench["address"]],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if os.path.exists(socket):
                break
            time.sleep(0.01)
        run(bench["ssh"] + ["-S", socket, bench["address"], "memory"])
        control = []
        for _ in range(n):
            start = time.perf_counter()
            run(bench["ssh"] + ["-S", socket, bench["address"], "memory"])
            control.append(time.perf_counter() - start)
    finally:
        master.terminate()
        master.wait()
    rows.append(("warm tool call vs ControlMaster exec", median_ms(warm), median_ms(control), 1.0, "<="))

    # 1b. The same warm call over Streamable HTTP (serve --http on loopback, a bearer token) vs over stdio.
    made = subprocess.run([binary, "tokens", "add", f"bench-{os.getpid()}-{int(time.time())}", "--env-file", env_file],
                          capture_output=True, text=True)
    token = next((word for word in made.stdout.split() if word.startswith("mlit_")), None)
    if token is None:
        raise SystemExit(f"tokens add failed: {made.stdout}{made.stderr}")
    log_path = env_file + ".http.log"
    server = subprocess.Popen([binary, "serve", "--http", "127.0.0.1:0", "--env-file", env_file],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    http_warm = []
    try:
        url = None
        for _ in range(600):
            text = open(log_path).read()
            if "mcp=http://" in text:
                url = text.split("mcp=", 1)[1].split()[0]
                break
            if server.poll() is not None:
                raise SystemExit(f"serve --http ended: {text[-500:]}")
            time.sleep(0.05)
        if url is None:
            raise SystemExit("serve --http did not listen")
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                async with ClientSession(streams[0], streams[1]) as session:
                    await session.initialize()
                    await call_ok(session, "get_memory_info", {"host": single})
                    for _ in range(n):
                        start = time.perf_counter()
                        await call_ok(session, "get_memory_info", {"host": single})
                        http_warm.append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait()
    rows.append(("warm tool call: HTTP vs stdio", median_ms(http_warm), median_ms(warm), None, ""))

    # 2. Cold: start the server, initialize, one call  vs  one cold ssh (handshake + exec).
    for _ in range(max(5, n // 5)):
        start = time.perf_counter()
        async with await session_of(binary, env_file) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                await call_ok(session, "get_memory_info", {"host": single})
                cold.append(time.perf_counter() - start)
    cold_ssh = []
    for _ in range(max(5, n // 5)):
        start = time.perf_counter()
        run(bench["ssh"] + ["-o", "ControlMaster=no", "-o", "ControlPath=none", bench["address"], "memory"])
        cold_ssh.append(time.perf_counter() - start)
    rows.append(("cold: server start+call vs cold ssh", median_ms(cold), median_ms(cold_ssh), None, ""))

    # 3. Fan-out of get_disk_usage (mcp-wrapper `disks`) to 100 hosts vs ansible -m raw -f 20 running `disks`.
    fan_cold, fan_warm = [], []
    database = env_setting(env_file, "LINUX_MCP_DB")
    before_fan_out = audit_head(database)
    async with await session_of(binary, env_file) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            start = time.perf_counter()
            await call_ok(session, "get_disk_usage", {"host": group}, hosts=hosts)
            fan_cold.append(time.perf_counter() - start)
            for _ in range(fan_n):
                start = time.perf_counter()
                await call_ok(session, "get_disk_usage", {"host": group}, hosts=hosts)
                fan_warm.append(time.perf_counter() - start)
            pid = server_pid(binary)
            rss = status(pid)[0] if pid else float("nan")
    # The server retries a busy refusal: the tool results show only hosts still busy after the retries (and
    # call_ok stops on those), the audit log's ssh rows show every refused attempt.
    busy = busy_attempts(database, after=before_fan_out)
    ansible = []
    for _ in range(max(3, fan_n // 2)):
        start = time.perf_counter()
        run(bench["ansible"])
        ansible.append(time.perf_counter() - start)
    rows.append((f"fan-out to {hosts} hosts (warm) vs ansible", median_ms(fan_warm), median_ms(ansible), 0.1, "<="))
    rows.append((f"fan-out to {hosts} hosts (first call)", median_ms(fan_cold), median_ms(ansible), None, ""))

    print(f"{'scenario':44} {'mcp-linux-infra':>16} {'baseline':>12} {'ratio':>7}  goal")
    for name, ours, theirs, goal, op in rows:
        ratio = ours / theirs
        verdict = "" if goal is None else f"{op} {goal:.1f} " + ("met" if ratio <= goal else "MISSED")
        print(f"{name:44} {ours:13.1f} ms {theirs:9.1f} ms {ratio:7.3f}  {verdict}")
    print(f"{'server RSS with ' + str(hosts) + ' pooled sessions':44} {rss:13.1f} MB {'':12} {'':7}  <= 40 MB "
          + ("met" if rss <= 40 else "MISSED"))
    print(f"busy refusals met by the {1 + fan_n} fan-outs to {hosts} hosts: {busy} attempts refused busy (exit 73) and retried, "
          f"{busy / (1 + fan_n):.1f} per fan-out; 0 hosts left busy (the 100 hosts share one account's request slots on one sshd)")
    print(f"(medians; {n} warm calls, {max(5, n // 5)} cold starts, {fan_n} fan-outs, {max(3, fan_n // 2)} ansible runs; "
          "baselines: OpenSSH ControlMaster / cold ssh / ansible -m raw -f 20, same forced command and sshd)")


asyncio.run(main())

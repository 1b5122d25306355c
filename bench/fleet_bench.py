"""Fleet benchmark: mcp-linux-infra fanning one diagnostic out to N hosts, driven by the official MCP Python
client, side by side with `xargs -P 50` over OpenSSH ControlMaster and `ansible -m raw -f 50` doing the same
work through the same forced command (each host's own mcp-wrapper install) on the same sshd processes.

Usage: fleet_bench.py SERVER_BINARY BENCH_JSON   (bench/fleet-bench.sh prepares everything)
BENCH_JSON: {"sizes": [N...], "bench": dir with inventory-N.yml, bench-N.env, state-N.sqlite3, "hosts": hosts.tsv,
"ssh": [ssh argv prefix with ControlMaster=auto], "verb": wrapper verb, "tool": MCP tool, "group": group name,
"xargs_parallel": P, "ansible_forks": F, "ansible_goal_forks": F20, "ansible": [ansible argv prefix],
"masters": [folders of ControlMaster sockets]}. Prints one table per N, then the growth table.
"""
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from bench_proc import TICKS, busy_attempts, cpu_seconds, env_setting, io_threads, server_pid, status

def timed(argv, **kwargs):
    """Runs argv; returns (seconds, exit code)."""
    start = time.perf_counter()
    code = subprocess.run(argv, **kwargs).returncode
    return time.perf_counter() - start, code


def stop_masters(folders):
    """Every ControlMaster whose socket is in folders, by its socket, 50 at a time."""
    sockets = [os.path.join(folder, name) for folder in folders for name in sorted(os.listdir(folder))]
    for start in range(0, len(sockets), 50):
        stopping = [subprocess.Popen(["/usr/bin/ssh", "-o", f"ControlPath={socket}", "-O", "exit", "fleet"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    for socket in sockets[start:start + 50]]
        for process in stopping:
            process.wait()


async def fan_out(session, tool, group):
    """One fan-out: (seconds, hosts answered, hosts whose final answer was busy, first errors)."""
    start = time.perf_counter()
    result = await session.call_tool(tool, {"host": group})
    seconds = time.perf_counter() - start
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content[0].text[:500]}")
    results = result.structured_content["results"]
    failed = [r for r in results if not r["ok"]]
    busy = sum(1 for r in failed if "exit 73" in r.get("error", ""))
    return seconds, len(results) - len(failed), busy, failed[:3]


async def server_side(binary, env_file, tool, group, warm_runs):
    """Cold and warm fan-outs through one server, with its RSS, threads and CPU."""
    params = StdioServerParameters(command=binary, args=["serve", "--env-file", env_file])
    out = {}
    async with stdio_client(params, errlog=open(env_file + ".stderr", "w")) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            pid = server_pid(binary)
            before = cpu_seconds(pid)
            out["cold"], out["cold_ok"], out["cold_busy"], out["cold_failed"] = await fan_out(session, tool, group)
            after_cold = cpu_seconds(pid)
            warm, oks, busy = [], [], 0
            for _ in range(warm_runs):
                seconds, ok, refused, failed = await fan_out(session, tool, group)
                warm.append(seconds)
                oks.append(ok)
                busy += refused
                out["warm_failed"] = failed or out.get("warm_failed", [])
            after_warm = cpu_seconds(pid)
            out["warm"], out["warm_ok"], out["warm_busy"] = statistics.median(warm), min(oks), busy
            out["cpu_cold"], out["cpu_warm"] = after_cold - before, (after_warm - after_cold) / warm_runs
            out["rss"], out["hwm"], out["threads"] = status(pid)
            out["io_threads"] = io_threads(pid)
    return out


def main():
    binary, bench = sys.argv[1], json.loads(sys.argv[2])
    folder, tool, group, verb = bench["bench"], bench["tool"], bench["group"], bench["verb"]
    hosts = [line.rstrip("\n").split("\t") for line in open(bench["hosts"])]
    settings = {}
    growth = []
    for n in bench["sizes"]:
        env_file = f"{folder}/bench-{n}.env"
        for name in ("LINUX_MCP_SSH_IO_THREADS", "LINUX_MCP_FANOUT_WIDTH", "LINUX_MCP_MAX_HANDSHAKES_PER_HOST", "LINUX_MCP_MAX_SESSIONS_PER_HOST",
                     "LINUX_MCP_MAX_CHANNELS_PER_SESSION", "LINUX_MCP_POOL_IDLE_SECONDS", "LINUX_MCP_CONNECT_TIMEOUT_MS",
                     "LINUX_MCP_COMMAND_TIMEOUT_MS"):
            settings[name] = env_setting(env_file, name) or "default"
        warm_runs = 5 if n <= 100 else 3
        ours = asyncio.run(server_side(binary, env_file, tool, group, warm_runs))
        ours["busy_attempts"] = busy_attempts(f"{folder}/state-{n}.sqlite3")

        # xargs -P 50 over ControlMaster: the first run opens the masters (ControlPersist), later runs reuse them.
        lines = "".join(f"-p {port} {address} {verb}\n" for _, address, port in hosts[:n]).encode()
        xargs = ["xargs", "-P", str(bench["xargs_parallel"]), "-L", "1"] + bench["ssh"]
        with open(f"{folder}/xargs-{n}.stderr", "w") as errors:
            def run_xargs():
                return timed(xargs, input=lines, stdout=subprocess.DEVNULL, stderr=errors)
            x_cold, x_cold_code = run_xargs()
            x_warm = [run_xargs() for _ in range(warm_runs)]
        stop_masters(bench["masters"])

        # ansible -m raw: the first run opens its persistent masters (ControlPersist 60 s), later runs reuse them.
        def run_ansible(forks):
            return timed(bench["ansible"] + ["-i", f"{folder}/inventory-{n}.yml", "-f", str(forks)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ansible_runs = 3 if n <= 100 else 1
        a_cold, a_cold_code = run_ansible(bench["ansible_forks"])
        a_warm = [run_ansible(bench["ansible_forks"]) for _ in range(ansible_runs)]
        a_goal = None
        if n == 100:
            a_goal = statistics.median(run_ansible(bench["ansible_goal_forks"])[0] for _ in range(ansible_runs))
        stop_masters(bench["masters"])

        x_med = statistics.median(s for s, _ in x_warm)
        a_med = statistics.median(s for s, _ in a_warm)
        x_all = x_cold_code == 0 and all(code == 0 for _, code in x_warm)
        a_all = a_cold_code == 0 and all(code == 0 for _, code in a_warm)
        load = " ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"\n== {n} hosts ({(n + 99) // 100} sshd) — fan-out of {tool} (wrapper verb `{verb}`); load average {load} ==")
        print(f"{'':34} {'mcp-linux-infra':>16} {'xargs -P ' + str(bench['xargs_parallel']) + ' + CM':>18} "
              f"{'ansible raw -f ' + str(bench['ansible_forks']):>20}")
        print(f"{'fan-out, cold (opens sessions)':34} {ours['cold']:14.2f} s {x_cold:16.2f} s {a_cold:18.2f} s")
        print(f"{f'fan-out, warm (median of {warm_runs}/{warm_runs}/{ansible_runs})':34} {ours['warm']:14.2f} s "
              f"{x_med:16.2f} s {a_med:18.2f} s")
        print(f"{'per host, warm':34} {ours['warm'] / n * 1000:13.2f} ms {x_med / n * 1000:15.2f} ms {a_med / n * 1000:17.2f} ms")
        print(f"{'ratio to mcp-linux-infra (warm)':34} {1.0:16.2f} {x_med / ours['warm']:18.2f} {a_med / ours['warm']:20.2f}")
        print(f"{'hosts answered (cold / worst warm)':34} {str(ours['cold_ok']) + ' / ' + str(ours['warm_ok']):>16} "
              f"{('all' if x_all else 'NOT ALL'):>18} {('all' if a_all else 'NOT ALL'):>20}")
        print(f"busy refusals: {ours['busy_attempts']} attempts refused busy (exit 73, retried; audit log), "
              f"{ours['cold_busy'] + ours['warm_busy']} hosts left busy in the results")
        print(f"server: RSS {ours['rss']:.1f} MB (peak {ours['hwm']:.1f} MB) with {n} pooled hosts; "
              f"{ours['threads']} threads, {ours['io_threads']} ssh-io")
        print(f"server CPU per host: {ours['cpu_cold'] / n * 1000:.2f} ms cold call, {ours['cpu_warm'] / n * 1000:.2f} ms warm call"
              f" (utime+stime; {ours['cpu_cold']:.2f} s and {ours['cpu_warm']:.2f} s per call)")
        for label, failed in (("cold", ours["cold_failed"]), ("warm", ours.get("warm_failed", []))):
            if failed:
                print(f"  first {label} failures: {failed}")
        if n == 100:
            ratio = ours["warm"] / a_goal
            print(f"goal: fan-out to 100 >= 10x faster than ansible -m raw -f {bench['ansible_goal_forks']} "
                  f"({a_goal:.2f} s): {1 / ratio:.1f}x " + ("met" if ratio <= 0.1 else "MISSED"))
            print(f"goal: no slower than xargs -P {bench['xargs_parallel']} + ControlMaster: {ours['warm'] / x_med:.2f}x its time "
                  + ("met" if ours["warm"] <= x_med else "MISSED"))
            print("goal: RSS <= 40 MB with 100 pooled sessions: " + ("met" if ours["rss"] <= 40 else "MISSED"))
        if n == 1000:
            print("goal: RSS <= 150 MB with 1000: " + ("met" if ours["rss"] <= 150 else "MISSED")
                  + f"; <= 8 SSH I/O threads: {ours['io_threads']} " + ("met" if ours["io_threads"] <= 8 else "MISSED")
                  + "; every host answers: " + ("met" if ours["cold_ok"] == n and ours["warm_ok"] == n else "MISSED"))
        sys.stdout.flush()
        growth.append((n, ours, x_med, a_med))

    print("\nsettings: " + " ".join(f"{k}={v}" for k, v in sorted(settings.items()))
          + "; no setting caps the hosts of one call")
    print("\n== growth: cost per host ==")
    print(f"{'hosts':>6} {'cold ms/host':>13} {'warm ms/host':>13} {'CPU ms/host':>12} {'RSS MB':>8} {'threads':>8} "
          f"{'xargs ms/host':>14} {'ansible ms/host':>16}")
    for n, ours, x_med, a_med in growth:
        print(f"{n:6} {ours['cold'] / n * 1000:13.2f} {ours['warm'] / n * 1000:13.2f} {ours['cpu_warm'] / n * 1000:12.2f} "
              f"{ours['rss']:8.1f} {ours['threads']:8} {x_med / n * 1000:14.2f} {a_med / n * 1000:16.2f}")
    if len(growth) > 1:
        (n0, first, x0, a0), (n1, last, x1, a1) = growth[0], growth[-1]
        def per(value, n):
            return value / n
        print(f"growth {n0} -> {n1} (per host; 1.00 = flat): cold {per(last['cold'], n1) / per(first['cold'], n0):.2f}x, "
              f"warm {per(last['warm'], n1) / per(first['warm'], n0):.2f}x, "
              f"CPU {per(last['cpu_warm'], n1) / max(per(first['cpu_warm'], n0), 1e-9):.2f}x, "
              f"xargs {per(x1, n1) / per(x0, n0):.2f}x, ansible {per(a1, n1) / per(a0, n0):.2f}x")
    print(f"(warm = sessions or masters already open; CPU = server utime+stime of one warm call / hosts, in {1000 // TICKS} ms ticks; "
          "busy attempts from the audit log's ssh rows; every side runs the same wrapper verb on the same sshd processes)")


main()

#!/usr/bin/env python3
"""A raw JSON-RPC client for `mcp-linux-infra serve`, and the fault-injection scenarios built on it.

No SDK: it writes one JSON message per line to the server's stdin and reads its stdout with os.read on the
raw descriptor, splitting lines itself (select() on a buffered file misses lines already buffered). Every
wait has a deadline. Each scenario prints one JSON report on stdout; FaultInjectionTests.swift asserts on it.

    raw_client.py close-mid-call BINARY ENV_FILE STDERR RUNS HOST
    raw_client.py burst BINARY ENV_FILE STDERR SCENARIO_JSON
    raw_client.py faults BINARY ENV_FILE STDERR SCENARIO_JSON
    raw_client.py sigterm-execute BINARY ENV_FILE STDERR SCENARIO_JSON
    raw_client.py big-message BINARY ENV_FILE STDERR SCENARIO_JSON
    raw_client.py error-codes BINARY ENV_FILE STDERR SCENARIO_JSON
    raw_client.py calls BINARY ENV_FILE STDERR SCENARIO_JSON   ({"env": {...}, "calls": [[TOOL, ARGUMENTS], ...]})
    raw_client.py two-servers BINARY ENV_FILE STDERR SCENARIO_JSON   (two_servers() says what the scenario holds)
"""
import json
import os
import random
import select
import signal
import subprocess
import sys
import time


class Server:
    """One `serve` process and its raw stdio."""

    def __init__(self, binary, env_file, stderr_path, extra_env=None, hostname=None):
        """`hostname`: the server runs in a UTS namespace of its own under that host name (root only), as if it
        ran on another machine: its PID then means nothing to a server on this one."""
        env = dict(os.environ)
        env.update(extra_env or {})
        self.stderr = open(stderr_path, "ab")
        self.proc = subprocess.Popen([binary, "serve", "--env-file", env_file], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, env=env, bufsize=0,
                                     preexec_fn=(lambda: own_host_name(hostname)) if hostname else None)
        self.out = self.proc.stdout.fileno()
        self.inp = self.proc.stdin.fileno()
        self.buffer = b""
        self.next_id = 0
        self.answers = {}        # id -> (message, monotonic time received)
        self.other = []          # notifications and unmatched messages

    def send(self, message):
        os.write(self.inp, json.dumps(message).encode() + b"\n")

    def request(self, method, params=None):
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.next_id

    def call(self, tool, arguments):
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def pump(self, timeout):
        """Reads what is there (waiting at most `timeout` s) and files every complete line."""
        ready, _, _ = select.select([self.out], [], [], max(0.0, timeout))
        if not ready:
            return True
        chunk = os.read(self.out, 1 << 20)
        if not chunk:
            return False
        self.buffer += chunk
        now = time.monotonic()
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if not line.strip():
                continue
            message = json.loads(line)
            if "id" in message and ("result" in message or "error" in message):
                self.answers[message["id"]] = (message, now)
            else:
                self.other.append(message)
        return True

    def wait_for(self, ids, deadline):
        """Waits until every id in `ids` has an answer or `deadline` (monotonic) passes."""
        pending = set(ids) - set(self.answers)
        while pending and time.monotonic() < deadline:
            if not self.pump(min(0.5, deadline - time.monotonic())):
                break
            pending -= set(self.answers)
        return pending

    def answer(self, request_id, timeout=30.0):
        self.wait_for([request_id], time.monotonic() + timeout)
        return self.answers.get(request_id, (None, None))[0]

    def initialize(self):
        rid = self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                          "clientInfo": {"name": "raw-fault-client", "version": "1"}})
        answer = self.answer(rid, 30.0)
        if answer is None or "result" not in answer:
            raise RuntimeError(f"initialize failed: {answer}")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def close(self):
        try:
            self.proc.stdin.close()   # through the file object: a bare os.close would let it close a reused fd later
        except OSError:
            pass

    def wait_exit(self, timeout):
        """The exit status (negative: killed by that signal), or None if it did not exit in time (then it is killed)."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.stderr.close()
            self.proc.stdout.close()


def own_host_name(name):
    """In the child before exec: a UTS namespace of its own (unshare(CLONE_NEWUTS)) named `name`."""
    import ctypes
    import socket
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x04000000) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUTS)")
    socket.sethostname(name)


def is_error(message):
    if message is None:
        return True
    if "error" in message:
        return True
    return bool(message.get("result", {}).get("isError"))


def text_of(message):
    if message is None:
        return "no answer"
    if "error" in message:
        return message["error"].get("message", "")
    return " ".join(part.get("text", "") for part in message.get("result", {}).get("content", []))


def close_mid_call(binary, env_file, stderr_path, runs, host):
    """Calls, then closes stdin while the call runs: the server must exit 0, never by a signal, never hang."""
    statuses, durations = [], []
    for run in range(int(runs)):
        server = Server(binary, env_file, stderr_path)
        server.initialize()
        for _ in range(1 + run % 3):
            server.call("get_memory_info", {"host": host})
        time.sleep(random.random() * 0.03)
        started = time.monotonic()
        server.close()
        statuses.append(server.wait_exit(20.0))
        durations.append(round(time.monotonic() - started, 3))
    return {"statuses": statuses, "maxExitSeconds": max(durations), "runs": len(statuses)}


def burst(binary, env_file, stderr_path, scenario):
    """`runs` bursts of `calls` concurrent tool calls spread over `hosts`; every call must be answered in time."""
    server = Server(binary, env_file, stderr_path, scenario.get("env"))
    server.initialize()
    hosts, deadline_s = scenario["hosts"], scenario["deadlineSeconds"]
    report = {"runs": [], "unanswered": 0, "late": 0}
    for _ in range(scenario["runs"]):
        sent = {}
        for index in range(scenario["calls"]):
            rid = server.call("get_memory_info", {"host": hosts[index % len(hosts)]})
            sent[rid] = time.monotonic()
        pending = server.wait_for(list(sent), time.monotonic() + deadline_s + 5)
        latencies = [server.answers[rid][1] - sent[rid] for rid in sent if rid in server.answers]
        errors = [text_of(server.answers[rid][0]) for rid in sent if rid in server.answers and is_error(server.answers[rid][0])]
        late = sum(1 for value in latencies if value > deadline_s)
        report["runs"].append({"ok": len(latencies) - len(errors), "errors": len(errors), "unanswered": len(pending),
                               "maxSeconds": round(max(latencies, default=0), 3), "errorSamples": errors[:3]})
        report["unanswered"] += len(pending)
        report["late"] += late
    server.close()
    report["exit"] = server.wait_exit(30.0)
    return report


def run_command(argv):
    """Runs a fault's argument vector; ["@write", PATH, TEXT] writes TEXT to PATH instead (a cgroup knob)."""
    if argv[0] == "@write":
        with open(argv[1], "w") as knob:
            knob.write(argv[2])
        return subprocess.CompletedProcess(argv, 0, "", "")
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def faults(binary, env_file, stderr_path, scenario):
    """Read-only calls in a loop while the target's sshd restarts, its link goes down and up, and it freezes
    mid-handshake. Each fault: `inject` runs, calls continue for `during` calls, `recover` runs, then calls
    must succeed again. Keeps `window` calls in flight."""
    server = Server(binary, env_file, stderr_path, scenario.get("env"))
    server.initialize()
    host, total, window = scenario["host"], scenario["calls"], scenario.get("window", 4)
    tool = scenario.get("tool", "get_memory_info")
    expected = scenario.get("expectedError", "")
    plan = {fault["at"]: fault for fault in scenario["faults"]}
    recover_at = {}
    phase = "normal"
    results = []          # (index, phase, ok, text, seconds)
    in_flight = {}        # rid -> (index, phase, sent)
    rss_after_100 = None
    index = 0
    deadline = time.monotonic() + scenario.get("timeLimitSeconds", 600)
    fault_log = []
    while (index < total or in_flight) and time.monotonic() < deadline:
        while index < total and len(in_flight) < window:
            if index in plan:
                # Let the calls of the previous phase finish first, so each answer belongs to one phase.
                if in_flight:
                    break
                fault = plan[index]
                outcome = run_command(fault["inject"])
                fault_log.append({"name": fault["name"], "inject": outcome.returncode, "stderr": outcome.stderr[-300:]})
                phase = fault["name"]
                recover_at[index + fault["during"]] = fault
            if index in recover_at:
                if in_flight:
                    break
                fault = recover_at.pop(index)
                outcome = run_command(fault["recover"])
                fault_log.append({"name": fault["name"] + ":recover", "recover": outcome.returncode, "stderr": outcome.stderr[-300:]})
                time.sleep(fault.get("settleSeconds", 0))
                phase = "after-" + fault["name"]
            rid = server.call(tool, {"host": host})
            in_flight[rid] = (index, phase, time.monotonic())
            index += 1
        if not server.pump(0.5):
            break
        for rid in [rid for rid in in_flight if rid in server.answers]:
            number, at_phase, sent = in_flight.pop(rid)
            message, received = server.answers.pop(rid)
            results.append((number, at_phase, not is_error(message), text_of(message)[:300], round(received - sent, 3)))
        if rss_after_100 is None and len(results) >= 100:
            rss_after_100 = server.rss_kb()
    rss_end = server.rss_kb()
    alive = server.proc.poll() is None
    server.close()
    status = server.wait_exit(30.0)
    phases = {}
    for number, at_phase, ok, text, seconds in results:
        entry = phases.setdefault(at_phase, {"ok": 0, "errors": 0, "expectedErrors": 0, "errorSamples": [], "maxSeconds": 0})
        entry["ok" if ok else "errors"] += 1
        if not ok and expected and expected in text:
            entry["expectedErrors"] += 1
        entry["maxSeconds"] = max(entry["maxSeconds"], seconds)
        if not ok and len(entry["errorSamples"]) < 20:
            entry["errorSamples"].append(text)
    # The calls right after recovery may still see the fault's tail; the last 20 of each after-phase must pass.
    tails = {}
    for number, at_phase, ok, text, seconds in results:
        tails.setdefault(at_phase, []).append(ok)
    return {"answered": len(results), "sent": index, "unanswered": len(in_flight), "phases": phases,
            "lastTwentyOk": {name: all(values[-20:]) for name, values in tails.items()},
            "rssAfter100": rss_after_100, "rssEnd": rss_end, "aliveAtEnd": alive, "exit": status, "faults": fault_log}


def sigterm_execute(binary, env_file, stderr_path, scenario):
    """Proposes a slow action, has a human approve it (a command run as another OS account), executes it,
    sends SIGTERM while it runs, and reports how the server ended and what the action's state became."""
    env = scenario.get("env", {})
    server = Server(binary, env_file, stderr_path, env)
    server.initialize()
    proposed = server.answer(server.call("propose_pra_action", {
        "host": scenario["host"], "action": scenario["action"], "parameters": scenario.get("parameters", {}),
        "rationale": "fault-injection test: an action that takes a few seconds"}))
    action = proposed["result"]["structuredContent"]["action"]
    approve = run_command(scenario["approve"] + [action["id"], "--digest", action["digest"]])
    if approve.returncode != 0:
        raise SystemExit(f"the approval failed (exit {approve.returncode}): {approve.stdout}{approve.stderr}")
    execute_id = server.call("execute_pra_action", {"id": action["id"]})
    time.sleep(scenario["termAfterSeconds"])
    before = os.path.getsize(stderr_path)
    server.proc.send_signal(signal.SIGTERM)
    # The signal is handled asynchronously: send the late call once the server logged that it is stopping.
    waited = time.monotonic() + 10
    while time.monotonic() < waited:
        with open(stderr_path, "rb") as log:
            log.seek(before)
            if b"stopping" in log.read():
                break
        time.sleep(0.02)
    late_call = server.call("list_pra_catalog", {})
    answer = server.answer(execute_id, scenario["graceSeconds"] + 20)
    late = server.answer(late_call, 5)
    started = time.monotonic()
    status = server.wait_exit(scenario["graceSeconds"] + 20)
    return {"id": action["id"], "approve": [approve.returncode, approve.stdout + approve.stderr],
            "executeAnswer": None if answer is None else {"isError": is_error(answer), "text": text_of(answer)[:500]},
            "lateCall": None if late is None else {"isError": is_error(late), "text": text_of(late)[:300]},
            "exit": status, "exitSeconds": round(time.monotonic() - started, 3)}


def big_message(binary, env_file, stderr_path, scenario):
    """Sends tools/call lines of each size in `sizes` (bytes) with a ping right behind each, from a writer
    thread, while this thread reads. Reports when the refusal and the ping's answer arrived, and RSS."""
    import threading
    server = Server(binary, env_file, stderr_path, scenario.get("env"))
    server.initialize()
    time.sleep(0.2)
    idle_rss = server.rss_kb()
    report = {"idleRSS": idle_rss, "messages": []}
    for size in scenario["sizes"]:
        big_id, ping_id = server.next_id + 1, server.next_id + 2
        server.next_id += 2
        head = b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"get_memory_info","arguments":{"host":"' % big_id
        tail = b'"}}}\n'
        filler = size - len(head) - len(tail) + 1
        ping = json.dumps({"jsonrpc": "2.0", "id": ping_id, "method": "ping"}).encode() + b"\n"
        times = {}

        def write():
            times["start"] = time.monotonic()
            os.write(server.inp, head)
            block = b"x" * (1 << 20)
            left = filler
            while left > 0:
                chunk = block[:min(left, len(block))]
                written = os.write(server.inp, chunk)
                left -= written
            os.write(server.inp, tail)
            times["written"] = time.monotonic()
            os.write(server.inp, ping)

        writer = threading.Thread(target=write)
        writer.start()
        peak = idle_rss
        deadline = time.monotonic() + 60
        while (big_id not in server.answers or ping_id not in server.answers) and time.monotonic() < deadline:
            server.pump(0.05)
            peak = max(peak, server.rss_kb())
        writer.join()
        big, ping_answer = server.answers.get(big_id), server.answers.get(ping_id)
        report["messages"].append({
            "size": size,
            "refusal": None if big is None else big[0],
            "refusalSeconds": None if big is None else round(big[1] - times["start"], 3),
            "pingAfterWrittenSeconds": None if ping_answer is None else round(ping_answer[1] - times["written"], 3),
            "writeSeconds": round(times["written"] - times["start"], 3),
            "peakRSS": peak,
        })
    server.close()
    report["exit"] = server.wait_exit(30.0)
    return report


def error_codes(binary, env_file, stderr_path, scenario):
    """Sends each raw line of `lines` in turn and reports the answer to it (matched by `expectId`)."""
    server = Server(binary, env_file, stderr_path, scenario.get("env"))
    server.initialize()
    answers = []
    for case in scenario["cases"]:
        os.write(server.inp, case["line"].encode() + b"\n")
        key = case["expectId"]
        deadline = time.monotonic() + 10
        while key not in server.answers and time.monotonic() < deadline:
            server.pump(0.1)
        answer = server.answers.pop(key, (None, None))[0]
        answers.append({"name": case["name"], "answer": answer})
    server.close()
    return {"answers": answers, "exit": server.wait_exit(30.0)}


def calls(binary, env_file, stderr_path, scenario):
    """Makes the given tool calls one after the other; reports each answer's structured content or error text."""
    server = Server(binary, env_file, stderr_path, scenario.get("env", {}))
    server.initialize()
    results = []
    for tool, arguments in scenario["calls"]:
        answer = server.answer(server.call(tool, arguments), 120)
        if answer is None:
            results.append({"isError": True, "text": "no answer"})
        else:
            results.append({"isError": is_error(answer), "text": text_of(answer)[:2000],
                            "structured": answer.get("result", {}).get("structuredContent")})
    server.close()
    return {"results": results, "exit": server.wait_exit(30.0)}


def poll_command(argv, done, seconds):
    """Runs `argv` again and again (at most every 0.2 s) until `done(stdout)` holds or `seconds` pass.
    Returns (held, last stdout, seconds it took)."""
    started = time.monotonic()
    deadline = started + seconds
    while True:
        outcome = run_command(argv)
        if done(outcome.stdout) or time.monotonic() >= deadline:
            return done(outcome.stdout), outcome.stdout + outcome.stderr, round(time.monotonic() - started, 3)
        time.sleep(0.2)


def two_servers(binary, env_file, stderr_path, scenario):
    """Two `serve` processes on one store (the same settings; `env` on top of ENV_FILE for both): A proposes,
    B lists it, a human approves (`approve` + ID --digest D); `callsPerServer` execute calls are then written to
    each server at once. Once every call but the claimed one is answered, the server whose call is still open is
    killed with SIGKILL while the host runs the action (`hostJournal` prints pra-run's journal). `show` + ID is
    polled until the survivor has marked the run INTERRUPTED; then the survivor is asked about it over MCP, the
    host's journal is polled until the run is done there, and the survivor is stopped (stdin closed).
    `hostnames` ({"a": NAME, "b": NAME}) runs each server under a host name of its own, as on two machines.
    Servers' stderr: STDERR.a and STDERR.b."""
    env, names = scenario.get("env", {}), scenario.get("hostnames", {})
    servers = {name: Server(binary, env_file, f"{stderr_path}.{name}", env, names.get(name)) for name in ("a", "b")}
    report = {"pids": {name: server.proc.pid for name, server in servers.items()}}
    try:
        for server in servers.values():
            server.initialize()
        a, b = servers["a"], servers["b"]
        proposed = a.answer(a.call("propose_pra_action", {
            "host": scenario["host"], "action": scenario["action"], "parameters": scenario.get("parameters", {}),
            "rationale": "two-server test: one proposal, one approval, one run"}), 60)
        if proposed is None or is_error(proposed):
            raise SystemExit(f"the proposal failed: {text_of(proposed)}")
        action = proposed["result"]["structuredContent"]["action"]
        action_id = action["id"]
        report["id"] = action_id
        listed = b.answer(b.call("list_pending_actions", {}), 60)
        report["pendingOnB"] = [item.get("id") for item in ((listed or {}).get("result", {}).get("structuredContent") or {}).get("actions", [])]
        approve = run_command(scenario["approve"] + [action_id, "--digest", action["digest"]])
        report["approve"] = [approve.returncode, approve.stdout + approve.stderr]
        if approve.returncode != 0:
            return report

        # Every request written before any answer is read: 2 x N calls in flight at once.
        count = scenario["callsPerServer"]
        sent = {name: [] for name in servers}
        started = time.monotonic()
        for _ in range(count):
            for name, server in servers.items():
                sent[name].append(server.call("execute_pra_action", {"id": action_id}))
        deadline = started + scenario.get("refusalDeadlineSeconds", 60)
        def open_calls():
            return {name: [rid for rid in sent[name] if rid not in servers[name].answers] for name in servers}
        while sum(len(ids) for ids in open_calls().values()) > 1 and time.monotonic() < deadline:
            for server in servers.values():
                server.pump(0.05)
        report["refusalSeconds"] = round(time.monotonic() - started, 3)
        still_open = open_calls()
        report["openCalls"] = {name: len(ids) for name, ids in still_open.items()}
        answers = [servers[name].answers[rid][0] for name in servers for rid in sent[name] if rid in servers[name].answers]
        report["answered"] = len(answers)
        report["succeeded"] = [text_of(message)[:300] for message in answers if not is_error(message)]
        report["refusals"] = [text_of(message)[:300] for message in answers if is_error(message)]
        winners = [name for name, ids in still_open.items() if ids]
        if len(winners) != 1:
            return report
        winner, survivor = winners[0], "b" if winners[0] == "a" else "a"
        report["winner"], report["winnerPid"] = winner, servers[winner].proc.pid

        # Killed only once the host has started the action: the run must outlive its server.
        started_on_host, journal, _ = poll_command(
            scenario["hostJournal"], lambda text: any(line.startswith("start ") and f"id={action_id}" in line for line in text.splitlines()),
            scenario.get("hostStartDeadlineSeconds", 30))
        report["startedOnHostBeforeKill"] = started_on_host
        if not started_on_host:
            report["journal"] = journal[-2000:]
            return report
        servers[winner].proc.kill()
        report["winnerExit"] = servers[winner].wait_exit(30.0)
        killed_at = time.monotonic()
        interrupted, shown, waited = poll_command(scenario["show"] + [action_id], lambda text: "state:         INTERRUPTED" in text,
                                                  scenario.get("interruptDeadlineSeconds", 60))
        report["interruptedSeen"], report["secondsToInterrupted"] = interrupted, round(time.monotonic() - killed_at, 3)
        report["showAfterKill"] = shown[-3000:]

        # The survivor, asked over MCP: the run is INTERRUPTED and is not started again.
        other = servers[survivor]
        got = other.answer(other.call("get_pra_action", {"id": action_id}), 60)
        report["survivorState"] = (((got or {}).get("result", {}).get("structuredContent") or {}).get("action") or {}).get("state")
        again = other.answer(other.call("execute_pra_action", {"id": action_id}), 60)
        report["executeAgain"] = {"isError": is_error(again), "text": text_of(again)[:300]}

        finished, journal, _ = poll_command(
            scenario["hostJournal"], lambda text: any(line.startswith("done") and f"id={action_id}" in line for line in text.splitlines()),
            scenario.get("hostDoneDeadlineSeconds", 60))
        report["doneOnHost"], report["journal"] = finished, journal[-4000:]
        other.close()
        report["survivorExit"] = other.wait_exit(30.0)
        return report
    finally:
        for server in servers.values():
            if server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait()


def main():
    kind, binary, env_file, stderr_path = sys.argv[1:5]
    if kind == "close-mid-call":
        report = close_mid_call(binary, env_file, stderr_path, sys.argv[5], sys.argv[6])
    else:
        scenario = json.loads(sys.argv[5])
        kinds = {"burst": burst, "faults": faults, "sigterm-execute": sigterm_execute, "big-message": big_message,
                 "error-codes": error_codes, "calls": calls,
                 "two-servers": two_servers}
        report = kinds[kind](binary, env_file, stderr_path, scenario)
    print(json.dumps(report))


if __name__ == "__main__":
    main()

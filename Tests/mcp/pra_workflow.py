"""Drives the approved-action workflow end to end: the official MCP Python client talks to
`mcp-linux-infra serve`, humans act through the CLI as other OS accounts (runuser), against a real target.

Usage: pra_workflow.py SERVER_BINARY ENV_FILE SCENARIO_JSON
SCENARIO_JSON: {"host": "t1", "alice": user, "bob": user, "agents": {user: SSH_AUTH_SOCK}, "alice_key": path,
"db": path, "runner_ssh": [ssh argv up to the request], "freeze": cgroup.freeze path, "stderr": path, "other_catalogue": path}. Each approver's key is in an
ssh-agent of their own OS account; `actions approve` signs with it. Prints one JSON report on stdout; Tests/EndToEndTests/ApprovedActionWorkflowTests.swift
asserts on it and on the target's journal.
"""
import asyncio
import datetime
import json
import os
import subprocess
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

binary, env_file, scenario = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
host = scenario["host"]
report = {"steps": []}


def cli(*args, user=None, env=None):
    """Runs the CLI, as `user` through runuser when given; returns (exit, stdout + stderr)."""
    # The approvers run a copy outside the checkout (which may sit under a home they cannot enter).
    argv = [scenario["cli_binary"] if user else binary, *args, "--env-file", env_file]
    if user:
        env = {"SSH_AUTH_SOCK": scenario["agents"][user], **(env or {})}
    if env:
        argv = ["env", *[f"{k}={v}" for k, v in env.items()], *argv]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def call(session, name, arguments):
    result = await session.call_tool(name, arguments)
    return {"isError": bool(result.is_error), "text": text_of(result), "structured": result.structured_content}


def action_of(answer):
    return (answer["structured"] or {}).get("action") or {}


def server(extra_env=None):
    return stdio_client(StdioServerParameters(command=binary, args=["serve", "--env-file", env_file], env=extra_env),
                        errlog=open(scenario["stderr"], "a"))


async def main():
    async with server() as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            report["tools"] = {t.name: {"readOnly": t.annotations.read_only_hint, "destructive": t.annotations.destructive_hint,
                                        "idempotent": t.annotations.idempotent_hint} for t in tools.tools}

            # 1. Diagnose: unbound is stopped.
            status = await call(session, "get_service_status", {"host": host, "unit": "unbound.service"})
            report["before"] = status["structured"]["results"][0]["data"]["activeState"]

            # 2. Propose; executing before approval is refused.
            proposed = await call(session, "propose_pra_action", {"host": host, "action": "restart_unbound",
                                                                   "rationale": "get_service_status shows unbound.service inactive; DNS on the host fails.\n"
                                                                                "digest:        sha256:forged"})
            main_action = action_of(proposed)
            report["proposed"] = main_action
            report["early"] = await call(session, "execute_pra_action", {"id": main_action["id"]})
            report["pending"] = [a["id"] for a in action_of_list(await call(session, "list_pending_actions", {}))]

            # 3. A human reviews and approves it as themself.
            report["show"] = cli("actions", "show", main_action["id"][:8], user=scenario["alice"])
            # root runs the server (the proposer): even holding an approver's key, it cannot approve.
            report["selfApproval"] = cli("actions", "approve", main_action["id"], "--digest", main_action["digest"], "--key", scenario["alice_key"])
            report["approve"] = cli("actions", "approve", main_action["id"], "--digest", main_action["digest"], user=scenario["alice"])

            # 4. Execute once: completed and verified; a second execute is refused.
            executed = await call(session, "execute_pra_action", {"id": main_action["id"]})
            report["executed"] = action_of(executed)
            report["executedError"] = executed["text"] if executed["isError"] else ""
            report["again"] = await call(session, "execute_pra_action", {"id": main_action["id"]})
            after = await call(session, "get_service_status", {"host": host, "unit": "unbound.service"})
            report["after"] = after["structured"]["results"][0]["data"]["activeState"]

            # 5. Rejected: refused.
            rejected = action_of(await call(session, "propose_pra_action", {"host": host, "action": "restart_caddy",
                                                                          "rationale": "caddy answers slowly on port 80 per check_http_endpoint."}))
            report["rejectNoReason"] = cli("actions", "reject", rejected["id"], user=scenario["bob"])
            report["reject"] = cli("actions", "reject", rejected["id"], "--reason", "not during business hours", user=scenario["bob"])
            report["afterReject"] = await call(session, "execute_pra_action", {"id": rejected["id"]})
            report["rejectedID"] = rejected["id"]

            # 6. Approval expired: refused.
            expiring = action_of(await call(session, "propose_pra_action", {"host": host, "action": "flush_dns_cache",
                                                                           "rationale": "stale answers seen in get_journal_logs for unbound."}))
            # A short window, still long enough for signing and storing on a loaded machine; then wait until the
            # stored expiry has passed (read back from the server, with a deadline), never a fixed short sleep.
            report["approveShort"] = cli("actions", "approve", expiring["id"], "--digest", expiring["digest"], user=scenario["alice"],
                                         env={"LINUX_MCP_APPROVAL_TTL_SECONDS": "20"})
            short = action_of(await call(session, "get_pra_action", {"id": expiring["id"]}))
            report["shortWindow"] = short.get("approvalExpiresAt")
            deadline = time.monotonic() + 120
            while short.get("state") == "APPROVED" and time.monotonic() < deadline:
                expires = datetime.datetime.fromisoformat(short["approvalExpiresAt"].replace("Z", "+00:00"))
                if datetime.datetime.now(datetime.timezone.utc) > expires + datetime.timedelta(seconds=1):
                    break
                await asyncio.sleep(1)
                short = action_of(await call(session, "get_pra_action", {"id": expiring["id"]}))
            report["afterExpiry"] = await call(session, "execute_pra_action", {"id": expiring["id"]})
            report["expiredID"] = expiring["id"]

            # 7. M-of-N: HIGH needs two distinct approvers; the same approver twice does not count.
            reboot = action_of(await call(session, "propose_pra_action", {"host": host, "action": "reboot_system",
                                                                        "rationale": "kernel update pending per get_system_info; reboot needed."}))
            report["highNoReason"] = cli("actions", "approve", reboot["id"], "--digest", reboot["digest"], user=scenario["alice"])
            report["highFirst"] = cli("actions", "approve", reboot["id"], "--digest", reboot["digest"], "--reason", "maintenance window", user=scenario["alice"])
            report["highStateAfterOne"] = action_of(await call(session, "get_pra_action", {"id": reboot["id"]}))["state"]
            report["highSameTwice"] = cli("actions", "approve", reboot["id"], "--digest", reboot["digest"], "--reason", "again", user=scenario["alice"])
            report["highSecond"] = cli("actions", "approve", reboot["id"], "--digest", reboot["digest"], "--reason", "agreed", user=scenario["bob"])
            report["highStateAfterTwo"] = action_of(await call(session, "get_pra_action", {"id": reboot["id"]}))["state"]
            cancelled = await call(session, "cancel_pra_action", {"id": reboot["id"], "reason": "test: do not reboot"})
            report["highCancelled"] = action_of(cancelled).get("state")
            report["rebootID"] = reboot["id"]

            # 8. Digest changed: approved under one catalogue, executed by a server that reads another.
            changed = action_of(await call(session, "propose_pra_action", {"host": host, "action": "restart_unbound",
                                                                         "rationale": "second restart to test digest binding."}))
            report["approveChanged"] = cli("actions", "approve", changed["id"], "--digest", changed["digest"], user=scenario["alice"])
            report["changedID"] = changed["id"]

            # 9. Forged in the database by the server's own account: an approval row with no signature, and one
            # carrying a real signature copied from another proposal. Neither counts; nothing reaches the host.
            forged = action_of(await call(session, "propose_pra_action", {"host": host, "action": "restart_unbound",
                                                                        "rationale": "restart to test a forged approval."}))
            copied = action_of(await call(session, "propose_pra_action", {"host": host, "action": "restart_unbound",
                                                                        "rationale": "restart to test a copied signature."}))
            forge(forged["id"], None)
            report["forgedUnsigned"] = await call(session, "execute_pra_action", {"id": forged["id"]})
            forge(copied["id"], main_action["id"])
            report["forgedCopied"] = await call(session, "execute_pra_action", {"id": copied["id"]})
            report["forgedIDs"] = [forged["id"], copied["id"]]
            # The same account also holds the runner key: it sends the forged approvals to the host itself.
            report["directUnsigned"] = runner_direct(f"restart_unbound id={forged['id']}", b"")
            report["directCopied"] = runner_direct(f"restart_unbound id={copied['id']}", approval_line(copied["id"]))

    async with server({"LINUX_MCP_CATALOGUE": scenario["other_catalogue"]}) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            report["afterDigestChange"] = await call(session, "execute_pra_action", {"id": report["changedID"]})

    # 9. 20 concurrent executes of one approved action, split over two server processes on the same database.
    async with server() as (read_a, write_a), server() as (read_b, write_b):
        async with ClientSession(read_a, write_a) as a, ClientSession(read_b, write_b) as b:
            await a.initialize()
            await b.initialize()
            race = action_of(await call(a, "propose_pra_action", {"host": host, "action": "restart_caddy",
                                                                   "rationale": "caddy memory grows per list_processes; restart it."}))
            report["approveRace"] = cli("actions", "approve", race["id"], "--digest", race["digest"], user=scenario["alice"])
            answers = await asyncio.gather(*[call(a if i % 2 == 0 else b, "execute_pra_action", {"id": race["id"]}) for i in range(20)])
            report["race"] = {"id": race["id"], "ok": sum(1 for x in answers if not x["isError"]),
                              "refusals": sorted({x["text"] for x in answers if x["isError"]})}

    # 10. kill -9 while an action executes (the target frozen so the run cannot finish), then restart.
    async with server() as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            doomed = action_of(await call(session, "propose_pra_action", {"host": host, "action": "restart_unbound",
                                                                        "rationale": "third restart, to be interrupted by a crash."}))
    report["approveDoomed"] = cli("actions", "approve", doomed["id"], "--digest", doomed["digest"], user=scenario["alice"])
    report["killed"] = kill_during_execution(doomed["id"])
    async with server() as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            report["afterRestart"] = action_of(await call(session, "get_pra_action", {"id": doomed["id"]}))
            report["executeInterrupted"] = await call(session, "execute_pra_action", {"id": doomed["id"]})
    report["doomedID"] = doomed["id"]
    report["mainID"] = main_action["id"]
    report["verify"] = cli("audit", "verify")
    report["search"] = cli("audit", "search", "--id", main_action["id"], "--jsonl")
    report["doomedAudit"] = cli("audit", "search", "--id", doomed["id"], "--jsonl")
    report["list"] = cli("actions", "list", "--all", user=scenario["bob"])
    json.dump(report, sys.stdout)


def approval_line(action_id):
    """The stdin line pra-exec reads, made from what the database holds for an action."""
    import base64
    import sqlite3
    db = sqlite3.connect(scenario["db"], timeout=30)
    statement, signature = db.execute("SELECT statement, signature FROM decision WHERE proposal_id = ? AND approves = 1",
                                      (action_id,)).fetchone()
    db.close()
    return b"approval " + base64.b64encode(statement.encode()) + b" " + base64.b64encode(signature.encode()) + b"\n"


def runner_direct(request, stdin):
    """The runner key used with OpenSSH, past the server: returns (exit, stderr)."""
    done = subprocess.run([*scenario["runner_ssh"], request], input=stdin, capture_output=True, timeout=60)
    return done.returncode, done.stderr.decode(errors="replace")


def forge(action_id, signed_from):
    """What the server's OS account can do to its own database: write an approval and mark the action APPROVED."""
    import sqlite3
    db = sqlite3.connect(scenario["db"], timeout=30)
    with db:
        statement, signature = None, None
        if signed_from:
            statement, signature = db.execute("SELECT statement, signature FROM decision WHERE proposal_id = ? AND approves = 1",
                                              (signed_from,)).fetchone()
        digest, = db.execute("SELECT digest FROM proposal WHERE id = ?", (action_id,)).fetchone()
        now = int(time.time() * 1000)
        db.execute("INSERT INTO decision (proposal_id, approver, approves, reason, digest, at, os_account, statement, signature) "
                   "VALUES (?, 'alice@example.org', 1, '', ?, ?, 'mcpt-alice', ?, ?)", (action_id, digest, now, statement, signature))
        db.execute("UPDATE proposal SET state = 'APPROVED', approved_at = ?, approval_expires_at = ? WHERE id = ?",
                   (now, now + 600000, action_id))
    db.close()


def action_of_list(answer):
    return (answer["structured"] or {}).get("actions") or []


def kill_during_execution(action_id):
    """A server over raw JSON-RPC (so its PID is ours): freeze the target, send execute, wait for EXECUTING, kill -9."""
    proc = subprocess.Popen([binary, "serve", "--env-file", env_file], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=open(scenario["stderr"], "a"), text=True)

    def send(message):
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "crash-test", "version": "1"}}})
    proc.stdout.readline()
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    with open(scenario["freeze"], "w") as freeze:
        freeze.write("1")
    state = "?"
    try:
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "execute_pra_action", "arguments": {"id": action_id}}})
        for _ in range(100):
            code, out = cli("actions", "show", action_id)
            state = next((line.split()[-1] for line in out.splitlines() if line.startswith("state:")), "?")
            if state == "EXECUTING":
                break
            time.sleep(0.1)
        proc.kill()
        proc.wait()
    finally:
        with open(scenario["freeze"], "w") as freeze:
            freeze.write("0")
    return {"stateBeforeKill": state, "signal": -proc.returncode}


asyncio.run(main())

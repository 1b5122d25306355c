#!/usr/bin/env python3
"""`/metrics` of `mcp-linux-infra serve --http`, checked with the official clients: the MCP Python SDK over
Streamable HTTP makes the tool calls, and prometheus_client's own text parser reads the scrapes.

    metrics_check.py BASE_URL        (tokens in the environment: MCP_TOKEN, METRICS_TOKEN)

Prints one JSON report on stdout; MetricsServeTests.swift asserts on it. Every request has a timeout.
"""
import asyncio
import json
import os
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

BAD_TOOL = "no_such_tool_\u00e9\"x"


def value(families, sample_name, **labels):
    """The sum of the samples named `sample_name` whose labels include `labels` (0 when none)."""
    total = 0.0
    for family in families:
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def scrape(http, base, token):
    """One scrape with `token`: status, WWW-Authenticate, content type, and the parsed families (None if refused)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = await http.get(base + "/metrics", headers=headers)
    families = list(text_string_to_metric_families(answer.text)) if answer.status_code == 200 else None
    return answer.status_code, answer.headers.get("www-authenticate", ""), answer.headers.get("content-type", ""), families


async def main(base):
    mcp_token, metrics_token = os.environ["MCP_TOKEN"], os.environ["METRICS_TOKEN"]
    report = {}
    async with httpx2.AsyncClient(timeout=30) as http:
        for label, token in [("noToken", None), ("mcpToken", mcp_token), ("unknownToken", "mlit_" + "A" * 43)]:
            status, challenge, _, _ = await scrape(http, base, token)
            report[label] = {"status": status, "challenge": challenge}
        # A metrics token does not open MCP.
        answer = await http.post(base + "/mcp", headers={"Authorization": f"Bearer {metrics_token}", "Content-Type": "application/json",
                                                         "Accept": "application/json, text/event-stream"},
                                 content=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                                     "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}}))
        report["metricsTokenAtMCP"] = {"status": answer.status_code, "challenge": answer.headers.get("www-authenticate", "")}

        status, _, content_type, before = await scrape(http, base, metrics_token)
        report["before"] = {"status": status, "contentType": content_type}

    calls = {}
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {mcp_token}"}, timeout=60) as client:
        async with streamable_http_client(base + "/mcp", http_client=client) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                for name, arguments in [("list_hosts", {}), ("list_hosts", {}), ("get_memory_info", {"host": "down"}),
                                        ("list_pra_catalog", {}), (BAD_TOOL, {})]:
                    result = await session.call_tool(name, arguments)
                    calls.setdefault(name, []).append(bool(result.is_error))
    report["calls"] = {"listHosts": calls["list_hosts"], "memory": calls["get_memory_info"], "bad": calls[BAD_TOOL]}

    async with httpx2.AsyncClient(timeout=30) as http:
        status, _, _, after = await scrape(http, base, metrics_token)
    report["after"] = {"status": status}
    counter = "mcp_infra_tool_calls_total"
    report["toolCalls"] = {
        "listHostsOk": [value(before, counter, tool="list_hosts", outcome="ok"), value(after, counter, tool="list_hosts", outcome="ok")],
        "memoryError": [value(before, counter, tool="get_memory_info", outcome="error"),
                        value(after, counter, tool="get_memory_info", outcome="error")],
        "catalogOk": [value(before, counter, tool="list_pra_catalog", outcome="ok"), value(after, counter, tool="list_pra_catalog", outcome="ok")],
        "unknownError": [value(before, counter, tool="unknown", outcome="error"), value(after, counter, tool="unknown", outcome="error")],
        "tools": sorted({s.labels.get("tool") for f in after for s in f.samples if s.name == counter}),
    }
    report["ssh"] = {
        "unreachableCount": value(after, "mcp_infra_ssh_exec_duration_seconds_count", host="down", account="reader", outcome="unreachable"),
        "unreachableInfBucket": value(after, "mcp_infra_ssh_exec_duration_seconds_bucket", host="down", account="reader",
                                      outcome="unreachable", le="+Inf"),
        "sessionsOpen": value(after, "mcp_infra_ssh_sessions_open"),
        "handshakesInFlight": value(after, "mcp_infra_ssh_handshakes_in_flight"),
    }
    report["proposals"] = {s.labels["state"]: s.value for f in after for s in f.samples if s.name == "mcp_infra_proposals"}
    report["audit"] = {
        "rowsBefore": value(before, "mcp_infra_audit_rows"), "rowsAfter": value(after, "mcp_infra_audit_rows"),
        "chainOk": value(after, "mcp_infra_audit_chain_ok"), "verifiedRow": value(after, "mcp_infra_audit_chain_verified_row"),
        "checkedAt": value(after, "mcp_infra_audit_chain_checked_timestamp_seconds"),
    }
    report["types"] = {f.name: f.type for f in after if f.name.startswith("mcp_infra_")}
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1]), timeout=120))

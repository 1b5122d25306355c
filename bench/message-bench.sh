#!/bin/bash
# Message-size benchmark for serve's stdio boundary: the time to read and answer one tools/call line of
# 1, 2, 4 and 8 MiB, just under the size limit (read whole, then refused by the argument bounds) and just
# over it (refused as soon as the limit passes), each with LINUX_MCP_MAX_MESSAGE_BYTES set to that size.
# Linear reading shows as a flat cost per MiB. Run as root (a loopback target gives serve its settings; no
# SSH happens). Usage: bench/message-bench.sh [release|debug]
set -eu
cd "$(dirname "$0")/.."
mode=${1:-release}
bash scripts/install-deps.sh >/dev/null
swift build -c "$mode" --product mcp-linux-infra 2>&1 | tail -n 1
binary=$(pwd)/.build/$mode/mcp-linux-infra
state=/run/mcp-linux-infra-msgbench
bash Tests/targets/loopback-target.sh down "$state"
trap 'bash Tests/targets/loopback-target.sh down "$state"' EXIT
bash Tests/targets/loopback-target.sh up "$state" --reader mcpmsgb-r --runner mcpmsgb-p --system >/dev/null
python3 bench/message_bench.py "$binary" "$state/linux-mcp.env" "$state/serve.stderr"

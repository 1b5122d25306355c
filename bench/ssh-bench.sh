#!/bin/bash
# SSH benchmark: mcp-linux-infra's libssh2 core vs OpenSSH, side by side, against a loopback target.
# Prints medians and ratios (goals: pooled <= 1.0x ControlMaster; cold <= 0.5x cold ssh). Run as root.
set -eu
cd "$(dirname "$0")/.."
iterations=${1:-50}
bash scripts/install-deps.sh
swift build -c release --product infra-bench 2>&1 | tail -n 1
state=/run/mcp-linux-infra-bench
bash Tests/targets/loopback-target.sh down "$state"
trap 'bash Tests/targets/loopback-target.sh down "$state"' EXIT
bash Tests/targets/loopback-target.sh up "$state" --reader mcpbench-r --runner mcpbench-p
.build/release/infra-bench --env-file "$state/linux-mcp.env" --iterations "$iterations"

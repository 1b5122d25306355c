#!/bin/bash
# Where a warm tool call spends its time: the real server in-process (release build) answering get_memory_info
# from a loopback target with the real mcp-wrapper, per phase, next to OpenSSH ControlMaster execs of the same
# wrapper request and of a bare `cat /proc/meminfo`. Prints medians and the two ratios (goals: <= 1.5x the bare
# ControlMaster exec, <= 1.0x the ControlMaster exec of the wrapper request). Run as root.
#
# The bare baseline is a second key of the bench's own reader account whose authorized_keys line has no forced
# command; it lives in the target's state folder and goes with it (the accounts too) when the target is taken down.
set -eu
cd "$(dirname "$0")/.."
iterations=${1:-50}
bash scripts/install-deps.sh
swift build -c release --product call-bench 2>&1 | tail -n 1
state=/run/mcp-linux-infra-call-bench
reader=mcpcall-r
log=$(mktemp /tmp/call-bench.XXXXXX.log)
bash Tests/targets/loopback-target.sh down "$state"
trap 'bash Tests/targets/loopback-target.sh down "$state"' EXIT
bash Tests/targets/loopback-target.sh up "$state" --system --reader "$reader" --runner mcpcall-p

# The bare key: the same account, the same sshd, no forced command (the account's shell runs the command).
ssh-keygen -q -t ed25519 -N '' -C "call-bench bare" -f "$state/keys/bare"
printf 'restrict,from="127.0.0.1" %s\n' "$(cat "$state/keys/bare.pub")" >> "$state/authorized_keys/$reader"

# The server logs each call on stderr (as in production, LINUX_MCP_LOG_LEVEL=info): kept out of the report.
if ! .build/release/call-bench --env-file "$state/linux-mcp.env" --bare-key "$state/keys/bare" \
    --wrapper "$state/prefix/lib/mcp-linux-infra/mcp-wrapper" --iterations "$iterations" 2> "$log"; then
  tail -n 20 "$log" >&2
  rm -f -- "$log"
  exit 1
fi
rm -f -- "$log"

#!/bin/bash
# The product's main job, end to end on this machine: stand up a loopback SSH target with the two
# forced-command accounts, then run `mcp-linux-infra doctor` against it. Run as root on Debian 12.
set -eu
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

step "Installing build and test dependencies (apt)"
bash scripts/install-deps.sh

step "Building mcp-linux-infra"
swift build --product mcp-linux-infra 2>&1 | tail -n 1

state=/run/mcp-linux-infra-demo
step "Standing up a loopback target: private sshd on 127.0.0.1, accounts mcp-reader and pra-runner"
bash Tests/targets/loopback-target.sh down "$state"
trap 'step "Tearing the target down"; bash Tests/targets/loopback-target.sh down "$state"' EXIT
bash Tests/targets/loopback-target.sh up "$state"

step "Settings the target wrote for the server ($state/linux-mcp.env)"
cat "$state/linux-mcp.env"

step "mcp-linux-infra doctor: pinned host key, authentication, forced command, per host and account"
.build/debug/mcp-linux-infra doctor --env-file "$state/linux-mcp.env"

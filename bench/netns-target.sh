# shellcheck shell=bash disable=SC2034 # cache and binary are set for the sourcing bench
# Sourced by the MCP benches (run from the repository root): the loopback target of Tests/targets with the real
# target side (--system), inside a network namespace the bench creates, so that sshd may listen on all of
# 127.0.0.0/8 and no traffic leaves the namespace; and the OpenSSH ControlMasters a bench opened.

# release_server: the packages, the venvs in MCP_INFRA_CACHE (cache = that folder) and the release build of the
# server (binary = its path).
release_server() {
  cache=${MCP_INFRA_CACHE:-/var/cache/mcp-linux-infra}
  bash scripts/install-deps.sh
  swift build -c release --product mcp-linux-infra 2>&1 | tail -n 1
  binary=$(pwd)/.build/release/mcp-linux-infra
}

# stop_masters DIR...: every ControlMaster whose socket is in one of the DIRs, by its socket.
stop_masters() {
  local dir socket
  for dir in "$@"; do
    for socket in "$dir"/*; do
      if [ -S "$socket" ]; then /usr/bin/ssh -o ControlPath="$socket" -O exit bench 2>/dev/null || true; fi
    done
  done
}

# netns_target_up NETNS STATE READER RUNNER: the namespace with its loopback interface up, and in it the target
# (accounts READER and RUNNER, keys, host keys, the syslog sink, one install of system/, an sshd on every address).
netns_target_up() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip netns exec "$1" bash Tests/targets/loopback-target.sh up "$2" --reader "$3" --runner "$4" --system --listen-any
}

# netns_target_down NETNS STATE: the target (its processes by PID, accounts, sudoers drop-in, STATE) and the namespace.
netns_target_down() {
  bash Tests/targets/loopback-target.sh down "$2"
  ip netns del "$1" 2>/dev/null || true
}

#!/bin/bash
# MCP benchmark: a tool call through the official MCP Python client (warm and cold; warm over HTTP against stdio)
# against an OpenSSH ControlMaster exec of the same mcp-wrapper verb, and a fan-out to 100 hosts against Ansible,
# with the server's RSS and the busy refusals the fan-out met. Prints medians and ratios (goals: warm call <= 1.0x
# ControlMaster, fan-out >= 10x faster than Ansible, RSS <= 40 MB). Run as root: it creates a network namespace
# whose sshd answers on 127.0.0.2-101 (100 "hosts"), so no traffic leaves that namespace. The 100 "hosts" are one
# sshd on one machine: they share one account's request slots (max-requests, 4 per CPU), so much of a fan-out's
# time is busy refusals and backoff that separate hosts would not see; bench/fleet-bench.sh gives each host its
# own. Usage: bench/mcp-bench.sh [ITERATIONS]
set -eu
cd "$(dirname "$0")/.."
iterations=${1:-30}
# shellcheck source=bench/netns-target.sh
. bench/netns-target.sh
release_server
netns=mcpinfra-bench
state=/run/mcp-linux-infra-mcpbench
cleanup() {
  # Ansible's persistent masters first, by their sockets.
  stop_masters "$state/bench/cm"
  netns_target_down "$netns" "$state"
}
cleanup
trap cleanup EXIT
netns_target_up "$netns" "$state" mcpbench-r mcpbench-p
port=$(awk '/^Port /{print $2}' "$state/sshd_config")
pinned=$(cut -d' ' -f1,2 "$state/hostkeys/ssh_host_ed25519_key.pub")

bench=$state/bench
install -d -m 0700 "$bench" "$bench/cm"
{
  echo "all:"
  echo "  vars:"
  echo "    ansible_user: mcpbench-r"
  echo "    ansible_ssh_private_key_file: $state/keys/mcp-reader"
  echo "  children:"
  echo "    fleet:"
  echo "      hosts:"
  for i in $(seq 2 101); do
    printf '        h%03d:\n          ansible_host: 127.0.0.%d\n          ansible_port: %d\n' "$((i - 1))" "$i" "$port"
  done
} > "$bench/inventory.yml"
for i in $(seq 2 101); do echo "[127.0.0.$i]:$port $pinned"; done > "$bench/known_hosts"
sed -e "s|^LINUX_MCP_INVENTORY=.*|LINUX_MCP_INVENTORY=$bench/inventory.yml|" \
    -e "s|^LINUX_MCP_KNOWN_HOSTS=.*|LINUX_MCP_KNOWN_HOSTS=$bench/known_hosts|" "$state/linux-mcp.env" > "$bench/bench.env"
echo "LINUX_MCP_LOG_LEVEL=error" >> "$bench/bench.env"

ssh_base=(/usr/bin/ssh -i "$state/keys/mcp-reader" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes
          -o "UserKnownHostsFile=$bench/known_hosts" -o StrictHostKeyChecking=yes -p "$port" -l mcpbench-r)
# Ansible's own defaults (ControlPersist 60 s, pipelining) and 20 forks; `raw` sends the verb as the SSH command,
# which is all a forced command lets through (the command module needs a shell and Python, which mcp-reader
# never gets), and is the cheapest thing Ansible can do per host.
ansible=("$cache/ansible-venv/bin/ansible" fleet -i "$bench/inventory.yml" -m raw -a disks -f 20)
export ANSIBLE_HOST_KEY_CHECKING=true ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=$bench/cm/%C -o UserKnownHostsFile=$bench/known_hosts -o IdentitiesOnly=yes"
export ANSIBLE_HOME=$bench/ansible-home ANSIBLE_LOCAL_TEMP=$bench/ansible-tmp ANSIBLE_PIPELINING=true
json=$(python3 -c '
import json, sys
iterations, socket, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
argv = sys.argv[4:]
print(json.dumps({"single": "h001", "group": "fleet", "hosts": 100, "address": "127.0.0.2", "ssh": argv[:count],
                  "ansible": argv[count:], "control_socket": socket, "iterations": iterations, "fanout_iterations": 10}))
' "$iterations" "$bench/cm.sock" "${#ssh_base[@]}" "${ssh_base[@]}" "${ansible[@]}")
ip netns exec "$netns" "$cache/mcp-venv/bin/python" bench/mcp_bench.py "$binary" "$bench/bench.env" "$json"

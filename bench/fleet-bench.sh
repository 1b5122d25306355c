#!/bin/bash
# Fleet benchmark: one fan-out of get_disk_usage (mcp-wrapper `disks`) to N loopback "hosts", each one a
# separate machine as far as the target side can tell (its own install prefix, host settings and request
# slots), for N = 10, 100 and 1,000 by default; side by side with `xargs -P 50` over OpenSSH ControlMaster and
# `ansible -m raw -f 50` running the same verb through the same forced command. Prints one table per N (cold
# and warm fan-out, server RSS and threads, server CPU per host, busy refusals) and the growth from the
# smallest to the largest N. Goals are printed, never asserted.
#
#   bench/fleet-bench.sh [N...]      (root; N from 1 to 2000)
#
# Layout, all in a network namespace it creates (no traffic leaves it), under one state dir it removes:
#   - host i has the address 127.1.G.J and the port 2200+G (G = (i-1)/100, J = (i-1)%100 + 1): one sshd per
#     100 hosts, on its own port, so each sshd stays under MaxStartups at the concurrency used;
#   - each sshd has a `Match LocalAddress` block per host whose AuthorizedKeysFile forces the reader key into
#     that host's own wrapper install (STATE/fleet/hNNNN/prefix/lib/mcp-linux-infra/mcp-wrapper). The wrapper
#     derives its settings and its request-slot folder from its install prefix (system/target-common.sh), so
#     every host has its own `max-requests` slots, as separate machines would. The product is unchanged.
set -eu
cd "$(dirname "$0")/.."
die() { echo "fleet-bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (it creates a network namespace, accounts and sshd processes)"
sizes=("$@")
[ "${#sizes[@]}" -gt 0 ] || sizes=(10 100 1000)
largest=0
for n in "${sizes[@]}"; do
  case "$n" in ''|*[!0-9]*) die "N must be a number: $n" ;; esac
  n=$((10#$n))
  if [ "$n" -lt 1 ] || [ "$n" -gt 2000 ]; then die "N must be 1 to 2000"; fi
  [ "$n" -le "$largest" ] || largest=$n
done
# shellcheck source=bench/netns-target.sh
. bench/netns-target.sh
release_server
netns=mcpinfra-fleet
state=/run/mcp-linux-infra-fleet
fleet=$state/fleet
bench=$state/bench
reader=mcpfleet-r
per_sshd=100
base_port=2200
# Every pooled session, master and sshd connection is a descriptor.
ulimit -n "$(ulimit -Hn)"

stop_sshds() {
  # Our sshd listeners by their saved PIDs (if still ours: the command line names our config), and the
  # per-connection sshd processes they forked, by PID.
  local saved pid conf children
  for saved in "$fleet"/sshd-*.pid.saved; do
    [ -f "$saved" ] || continue
    pid=$(cat "$saved")
    conf=${saved%.pid.saved}.conf
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$conf"; then
      children=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
      kill -TERM "$pid" 2>/dev/null || true
      # shellcheck disable=SC2086 # one PID per word
      [ -z "$children" ] || kill -KILL $children 2>/dev/null || true
    fi
    rm -f -- "$saved"
  done
}
cleanup() {
  stop_masters "$bench/cm" "$bench/ansible-cm"
  stop_sshds
  netns_target_down "$netns" "$state"
}
cleanup
trap cleanup EXIT
# Accounts, keys, host keys, the syslog sink and one installed target side (the template of every host).
netns_target_up "$netns" "$state" "$reader" mcpfleet-p >/dev/null
pinned=$(cut -d' ' -f1,2 "$state/hostkeys/ssh_host_ed25519_key.pub")

started=$(date +%s)
install -d -m 0755 "$fleet"
install -d -m 0700 "$bench" "$bench/cm" "$bench/ansible-cm"
# The template install prefix: the wrapper files and host settings of the loopback target, and an empty
# request-slot folder owned by the reader. Each host gets a copy (cp -a keeps owners and modes).
template=$fleet/template
install -d -m 0755 "$template/lib" "$template/etc" "$template/var/lib/mcp-linux-infra/slots"
cp -a "$state/prefix/lib/mcp-linux-infra" "$template/lib/"
cp -a "$state/prefix/etc/mcp-linux-infra" "$template/etc/"
install -d -m 0700 -o "$reader" "$template/var/lib/mcp-linux-infra/slots/$reader"

groups=$(( (largest + per_sshd - 1) / per_sshd ))
for ((g = 0; g < groups; g++)); do
  conf=$fleet/sshd-$g.conf
  # The target's own sshd settings (hardening, MaxStartups), with this sshd's port, pid file and account; keys
  # only from the per-host Match blocks fleet_hosts.py appends.
  {
    printf 'Port %s\nListenAddress 0.0.0.0\nPidFile %s\nAuthorizedKeysFile none\nAllowUsers %s\nLogLevel ERROR\n' \
      "$((base_port + g))" "$fleet/sshd-$g.pid" "$reader"
    grep -vE '^(Port|ListenAddress|PidFile|AuthorizedKeysFile|AllowUsers|LogLevel) ' "$state/sshd_config"
  } > "$conf"
done
python3 bench/fleet_hosts.py "$fleet" "$bench" "$largest" "$per_sshd" "$base_port" "$state/keys/mcp-reader.pub" "$pinned"
for ((g = 0; g < groups; g++)); do
  conf=$fleet/sshd-$g.conf
  /usr/sbin/sshd -t -f "$conf"
  # ip netns exec and setsid exec in place (this job is no process-group leader): $! is sshd's PID.
  ip netns exec "$netns" setsid /usr/sbin/sshd -f "$conf" -D -E "$fleet/sshd-$g.log" < /dev/null > /dev/null 2>&1 &
  echo $! > "$fleet/sshd-$g.pid.saved"
done
for ((g = 0; g < groups; g++)); do
  ready=
  for _ in $(seq 200); do
    if ip netns exec "$netns" ssh-keyscan -T 1 -p "$((base_port + g))" -t ed25519 "127.1.$g.1" 2>/dev/null | grep -qF "$pinned"; then
      ready=1; break
    fi
    sleep 0.05
  done
  [ -n "$ready" ] || { cat "$fleet/sshd-$g.log" >&2 || true; die "sshd $g did not answer on port $((base_port + g))"; }
done
echo "fleet: $largest hosts on $groups sshd processes ($per_sshd hosts each), set up in $(( $(date +%s) - started )) s" >&2

# One inventory and one settings file per N: a group `fleet` of the first N hosts.
for n in "${sizes[@]}"; do
  n=$((10#$n))
  {
    printf 'all:\n  vars:\n    ansible_user: %s\n    ansible_ssh_private_key_file: %s\n  children:\n    fleet:\n      hosts:\n' \
      "$reader" "$state/keys/mcp-reader"
    head -n "$n" "$bench/hosts.tsv" | while IFS=$'\t' read -r host address port; do
      printf '        %s:\n          ansible_host: %s\n          ansible_port: %s\n' "$host" "$address" "$port"
    done
  } > "$bench/inventory-$n.yml"
  # The server asks as many hosts at once as xargs -P and ansible -f do (LINUX_MCP_FANOUT_WIDTH, 16 by default);
  # no setting caps the hosts of one call.
  sed -e "s|^LINUX_MCP_INVENTORY=.*|LINUX_MCP_INVENTORY=$bench/inventory-$n.yml|" \
      -e "s|^LINUX_MCP_KNOWN_HOSTS=.*|LINUX_MCP_KNOWN_HOSTS=$bench/known_hosts|" \
      -e "s|^LINUX_MCP_DB=.*|LINUX_MCP_DB=$bench/state-$n.sqlite3|" "$state/linux-mcp.env" > "$bench/bench-$n.env"
  cat >> "$bench/bench-$n.env" <<ENV
LINUX_MCP_LOG_LEVEL=error
LINUX_MCP_AUDIT_WITNESS=$state/log.sock
LINUX_MCP_POOL_IDLE_SECONDS=3600
LINUX_MCP_SSH_IO_THREADS=2
LINUX_MCP_FANOUT_WIDTH=50
LINUX_MCP_MAX_HANDSHAKES_PER_HOST=4
LINUX_MCP_MAX_SESSIONS_PER_HOST=4
LINUX_MCP_MAX_CHANNELS_PER_SESSION=8
ENV
done

# Ansible's own defaults (ControlPersist 60 s, pipelining); `raw` sends the verb as the SSH command, all a
# forced command lets through. The xargs baseline is what a sysadmin scripts by hand: one ssh per host with
# ControlMaster=auto and ControlPersist, 50 at a time; its first run opens the masters.
export ANSIBLE_HOST_KEY_CHECKING=true ANSIBLE_PIPELINING=true ANSIBLE_HOME=$bench/ansible-home ANSIBLE_LOCAL_TEMP=$bench/ansible-tmp
export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=$bench/ansible-cm/%C -o UserKnownHostsFile=$bench/known_hosts -o IdentitiesOnly=yes"
json=$(python3 - "$bench" "$state" "$reader" "$cache" "${sizes[@]}" <<'PY'
import json, sys
bench, state, reader, cache = sys.argv[1:5]
sizes = [int(n) for n in sys.argv[5:]]
ssh = ["/usr/bin/ssh", "-i", f"{state}/keys/mcp-reader", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
       "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={bench}/known_hosts", "-o", "StrictHostKeyChecking=yes",
       "-o", "ControlMaster=auto", "-o", "ControlPersist=600", "-o", f"ControlPath={bench}/cm/%C", "-l", reader]
print(json.dumps({
    "sizes": sizes, "bench": bench, "hosts": f"{bench}/hosts.tsv", "ssh": ssh, "verb": "disks",
    "tool": "get_disk_usage", "group": "fleet", "xargs_parallel": 50, "ansible_forks": 50, "ansible_goal_forks": 20,
    "ansible": [f"{cache}/ansible-venv/bin/ansible", "fleet", "-m", "raw", "-a", "disks"],
    "masters": [f"{bench}/cm", f"{bench}/ansible-cm"]}))
PY
)
ip netns exec "$netns" "$cache/mcp-venv/bin/python" bench/fleet_bench.py "$binary" "$json"

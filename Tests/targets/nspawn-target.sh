#!/bin/bash
# A real Debian 12 target host for end-to-end tests: systemd 252 as PID 1, sshd, unbound, caddy, fail2ban,
# booted with systemd-nspawn in a network namespace of its own. Run as root.
#
#   nspawn-target.sh build
#       Builds the root filesystem (mmdebstrap, from the Debian mirror) once and caches it outside git under
#       $MCP_INFRA_CACHE (default /var/cache/mcp-linux-infra), keyed on the package list and this recipe.
#       The only step that needs the network; scripts/install-deps.sh runs it. Tests never do.
#   nspawn-target.sh up STATE_DIR --index N      (N = 1..250)
#       Boots one target at 10.231.N.2 (host side 10.231.N.1) and waits for `systemctl is-system-running`
#       = running. The target is pristine on every boot (--volatile=overlay over the shared cached rootfs).
#       It writes into STATE_DIR: address, known_hosts (its pinned ed25519 host key), bootstrap and
#       bootstrap.pub (the key root accepts, for Ansible, as an operator's bootstrap key), console.log.
#   nspawn-target.sh down STATE_DIR
#       Powers the target off and removes everything `up` made: the nspawn process and its cgroups, the
#       network namespace (and with it the veth pair), nspawn's runtime directories, STATE_DIR. By the PID
#       and names it saved; nothing is matched by pattern.
#
# Several targets run at once with different indexes. Tested with systemd-container 252 and mmdebstrap 1.3.
set -eu

die() { echo "nspawn-target: $*" >&2; exit 1; }
# shellcheck source=nspawn-common.sh
. "$(dirname -- "$0")/nspawn-common.sh"
[ "$(id -u)" -eq 0 ] || die "must run as root (it builds a root filesystem, network namespaces and cgroups)"
[ "$#" -ge 1 ] || die "usage: $0 build | up STATE_DIR --index N | down STATE_DIR"

readonly RECIPE=5
readonly PACKAGES=(systemd systemd-sysv dbus openssh-server sudo python3 python3-systemd unbound dns-root-data
  caddy fail2ban logrotate iproute2 procps util-linux iputils-ping curl libnss-myhostname)
cache=$nspawn_cache
key=$(nspawn_key "recipe $RECIPE" "${PACKAGES[@]}")
tarball="$cache/debian12-target-$key.tar.zst"
rootfs="$cache/debian12-target-$key"

build() {
  # No host keys in the image: each target gets its own at boot. fail2ban on Debian 12 needs the systemd backend
  # (there is no auth.log).
  # shellcheck disable=SC2016 # the hooks are run by mmdebstrap's shell, with $1 = the new root
  nspawn_build_image "$tarball" "$(IFS=,; echo "${PACKAGES[*]}")" \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
    --customize-hook='install -d -m 0700 "$1/root/.ssh"' \
    --customize-hook='printf "[sshd]\nbackend = systemd\n" > "$1/etc/fail2ban/jail.d/zz-systemd-backend.conf"' \
    --customize-hook='rm -f "$1/etc/hostname"' \
    --customize-hook='printf "127.0.0.1 localhost\n::1 localhost ip6-localhost\n" > "$1/etc/hosts"' \
    --customize-hook='printf "nameserver 127.0.0.1\n" > "$1/etc/resolv.conf"'
  unpack
}

unpack() {
  [ -f "$tarball" ] || die "no cached root filesystem at $tarball; run '$0 build' first (it needs the Debian mirror)"
  [ -f "$rootfs/.complete" ] && return 0
  # One unpacked copy, shared read-only by every target (each boot writes only to its own overlay).
  exec 9> "$cache/.unpack.lock"
  flock 9
  if [ ! -f "$rootfs/.complete" ]; then
    rm -rf -- "$rootfs"
    install -d -m 0755 "$rootfs"
    tar --zstd -xpf "$tarball" -C "$rootfs" --numeric-owner
    touch "$rootfs/.complete"
  fi
  exec 9>&-
}

is_alive() {
  # A killed process may stay a zombie until PID 1 reaps it; that counts as gone.
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ]
}

down() {
  local state=$1
  [ -d "$state" ] || return 0
  local name='' pid=
  [ -f "$state/name.saved" ] && name=$(cat "$state/name.saved")
  [ -f "$state/nspawn.pid.saved" ] && pid=$(cat "$state/nspawn.pid.saved")
  if [ -n "$pid" ] && [ -n "$name" ] && [ -r "/proc/$pid/cmdline" ] \
      && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "--machine=$name "; then
    # SIGTERM makes nspawn power the container off cleanly (about 2 s).
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do is_alive "$pid" || break; sleep 0.1; done
  fi
  if [ -n "$name" ]; then
    nspawn_remove_cgroups "$name"
    ip netns del "$name" 2>/dev/null || true
    rm -rf -- "/run/systemd/nspawn/propagate/$name" "/run/systemd/nspawn/unix-export/$name"
    # `ip netns add` bind-mounts /run/netns onto itself; undo that once no namespace is left. With no target
    # left, the shared image's lock file goes too (every target locks the one rootfs, shared).
    if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
      umount /run/netns 2>/dev/null || true
      rmdir /run/netns 2>/dev/null || true
      [ ! -d "$rootfs" ] || rm -f -- "/run/systemd/nspawn/locks/$(stat -c 'inode-%d:%i' "$rootfs")"
    fi
    rmdir /run/systemd/nspawn/propagate /run/systemd/nspawn/unix-export /run/systemd/nspawn/locks \
      /run/systemd/nspawn 2>/dev/null || true
  fi
  rm -rf -- "$state"
}

reclaim_stale() {
  # A run killed before its `down` (a lost machine, a kill -9) leaves its namespace and state directory behind.
  # The state directory beside ours that saved this name is taken down if the nspawn process it saved is gone;
  # a target still booting (no PID saved yet) or running stays, and the index stays in use.
  local name=$1 parent=$2 dir owner pid
  for dir in "$parent"/*/; do
    [ -f "$dir/name.saved" ] || continue
    owner=$(cat -- "$dir/name.saved")
    [ "$owner" = "$name" ] || continue
    [ -f "$dir/nspawn.pid.saved" ] || return 1
    pid=$(cat -- "$dir/nspawn.pid.saved")
    if [ -r "/proc/$pid/cmdline" ] && is_alive "$pid" \
        && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "--machine=$name "; then
      return 1
    fi
    echo "nspawn-target: $name was left by a run that is gone (state ${dir%/}); taking it down" >&2
    down "${dir%/}"
    [ ! -e "/run/netns/$name" ]
    return
  done
  return 1
}

up() {
  local state=$1 index=
  shift
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --index) index=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  if ! [[ $index =~ ^[1-9][0-9]{0,2}$ ]] || [ "$index" -gt 250 ]; then die "--index must be 1 to 250"; fi
  local name="mcpt-$index" net="10.231.$index"
  [ -e "$state" ] && die "$state exists; run '$0 down $state' first"
  if [ -e "/run/netns/$name" ]; then
    reclaim_stale "$name" "$(dirname -- "$state")" || die "network namespace $name exists: index $index is in use"
  fi
  for tool in systemd-nspawn ip ssh ssh-keygen ssh-keyscan; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
  done
  unpack

  # Globals, not locals: the EXIT trap runs after up's frame is gone.
  up_done='' up_state=$state
  trap 'if [ -z "$up_done" ]; then echo "nspawn-target: boot failed, cleaning up" >&2; tail -n 30 "$up_state/console.log" >&2 2>/dev/null || true; down "$up_state"; fi' EXIT
  install -d -m 0700 "$state"
  echo "$name" > "$state/name.saved"
  echo "$net.2" > "$state/address"

  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$state/ssh_host_ed25519_key"
  ssh-keygen -q -t ed25519 -N '' -C "bootstrap@$name" -f "$state/bootstrap"
  cp -- "$state/bootstrap.pub" "$state/root_authorized_keys"
  chmod 0600 "$state/root_authorized_keys"

  # Network: a namespace of our own and a veth pair; the target end stays inside the namespace.
  ip netns add "$name"
  ip link add "${name}h" type veth peer name "${name}t" netns "$name"
  ip addr add "$net.1/24" dev "${name}h"
  ip link set "${name}h" up
  ip -n "$name" link set lo up
  ip -n "$name" link set "${name}t" name host0
  ip -n "$name" addr add "$net.2/24" dev host0
  ip -n "$name" link set host0 up
  # What systemd-sysctl sets on a booted Debian host (nspawn keeps /proc/sys read-only inside): unprivileged
  # ICMP echo sockets, so ping works without capabilities.
  ip netns exec "$name" sysctl -q -w "net.ipv4.ping_group_range=0 2147483647"

  # A cgroup of our own (both hierarchies), so nspawn's --keep-unit has a group that is the target's alone.
  local dir
  for dir in $(nspawn_cgroup_dirs "$name"); do mkdir -p -- "$dir"; done
  (
    for dir in $(nspawn_cgroup_dirs "$name"); do echo "$BASHPID" > "$dir/cgroup.procs"; done
    # Close every inherited descriptor above stderr: a caller that waits for our exit (a test runner
    # holding a pipe or socket) must not wait for the target's whole life.
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then exec {fd}>&-; fi
    done
    exec setsid systemd-nspawn --quiet --boot --directory="$rootfs" "--machine=$name" "--hostname=$name" --register=no --keep-unit \
      "--network-namespace-path=/run/netns/$name" --volatile=overlay --console=read-only \
      --resolv-conf=off --timezone=off \
      "--bind-ro=$state/ssh_host_ed25519_key:/etc/ssh/ssh_host_ed25519_key" \
      "--bind-ro=$state/ssh_host_ed25519_key.pub:/etc/ssh/ssh_host_ed25519_key.pub" \
      "--bind-ro=$state/root_authorized_keys:/root/.ssh/authorized_keys"
  ) < /dev/null > "$state/console.log" 2>&1 &
  echo $! > "$state/nspawn.pid.saved"
  local pid=$!

  local pinned ready=
  pinned=$(cut -d' ' -f1,2 "$state/ssh_host_ed25519_key.pub")
  for _ in $(seq 600); do
    if ssh-keyscan -T 1 -t ed25519 "$net.2" 2>/dev/null | grep -qF "$pinned"; then ready=1; break; fi
    is_alive "$pid" || die "systemd-nspawn exited during boot"
    sleep 0.1
  done
  [ -n "$ready" ] || die "sshd on $net.2 did not answer within 60 s"
  echo "$net.2 $pinned" > "$state/known_hosts"
  local status
  status=$(timeout 120 ssh -i "$state/bootstrap" -o BatchMode=yes -o IdentitiesOnly=yes \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$state/known_hosts" "root@$net.2" \
    systemctl is-system-running --wait 2>&1) || true
  if [ "$status" != running ]; then
    timeout 20 ssh -i "$state/bootstrap" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
      -o "UserKnownHostsFile=$state/known_hosts" "root@$net.2" \
      'systemctl --failed --no-pager; journalctl --no-pager -n 60 -p info' >&2 || true
    die "target $name is '$status', not running"
  fi
  up_done=1
  echo "nspawn-target: $name running at $net.2 (state $state)" >&2
}

case "$1" in
  build) build ;;
  up)
    [ "$#" -ge 2 ] || die "usage: $0 up STATE_DIR --index N"
    case "$2" in /*) ;; *) die "STATE_DIR must be an absolute path" ;; esac
    up "${@:2}" ;;
  down)
    [ "$#" -eq 2 ] || die "usage: $0 down STATE_DIR"
    case "$2" in /*) ;; *) die "STATE_DIR must be an absolute path" ;; esac
    down "$2" ;;
  *) die "unknown command $1 (use build, up or down)" ;;
esac

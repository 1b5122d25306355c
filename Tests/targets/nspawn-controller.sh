#!/bin/bash
# A sysadmin's machine for the quickstart test: a Debian 12 root with no Swift toolchain, only what the
# package depends on and what the quickstart's steps use. Run as root.
#
#   nspawn-controller.sh build
#       Builds the root filesystem (mmdebstrap, from the Debian mirror) once and caches it outside git under
#       $MCP_INFRA_CACHE (default /var/cache/mcp-linux-infra), keyed on the package list and this recipe; and a
#       folder of wheels for the quickstart's `pip install 'ansible-core…'` (pip wheel, from the Python package
#       index), so that step runs word for word without the network (PIP_NO_INDEX=1, PIP_FIND_LINKS=that folder).
#       The only step that needs the network; scripts/install-deps.sh runs it. Tests never do.
#   nspawn-controller.sh copy ROOT
#       Unpacks a fresh, writable copy of the root filesystem into ROOT (which must not exist).
#   nspawn-controller.sh wheels
#       Prints the wheel folder's path.
#   nspawn-controller.sh run ROOT [--chdir DIR] [--setenv NAME=VALUE]... [--bind-ro SRC:DST]... -- COMMAND [ARGUMENT...]
#       Runs COMMAND as root in DIR (default /root) inside ROOT (systemd-nspawn --as-pid2, no boot), with the host's network, stdin,
#       stdout and stderr passed through, and exits with its status. Whatever COMMAND leaves running is killed
#       when it exits (its PID namespace ends). Each run gets a cgroup of its own, removed by name afterwards.
#
# Tested with systemd-container 252 and mmdebstrap 1.3.
set -eu

# shellcheck source=nspawn-common.sh
. "$(dirname -- "$0")/nspawn-common.sh"
die() { echo "nspawn-controller: $*" >&2; exit 1; }
readonly RECIPE=1
# The package's Debian dependencies, and what the quickstart's steps use (nothing Swift).
readonly PACKAGES=(libssh2-1 libsqlite3-0 libcurl4 openssh-client python3 python3-venv sudo ca-certificates)
# Exactly the quickstart's Ansible requirement.
readonly ANSIBLE_REQUIREMENT='ansible-core>=2.19,<2.20'
cache=$nspawn_cache
key=$(nspawn_key "recipe $RECIPE" "${PACKAGES[@]}")
tarball="$cache/debian12-controller-$key.tar.zst"
wheels="$cache/controller-wheels-$(nspawn_key "recipe $RECIPE" "$ANSIBLE_REQUIREMENT")"
[ "$(id -u)" -eq 0 ] || die "must run as root (it builds and enters a root filesystem)"
[ "$#" -ge 1 ] || die "usage: $0 build | copy ROOT | wheels | run ROOT [--chdir DIR] [--setenv N=V]... [--bind-ro S:D]... -- COMMAND..."

build() {
  command -v python3 >/dev/null 2>&1 || die "python3 not found (apt-get install python3-venv)"
  # shellcheck disable=SC2016 # the hooks are run by mmdebstrap's shell, with $1 = the new root
  nspawn_build_image "$tarball" "$(IFS=,; echo "${PACKAGES[*]}")" \
    --customize-hook='echo mcp-controller > "$1/etc/hostname"' \
    --customize-hook='printf "127.0.0.1 localhost mcp-controller\n::1 localhost ip6-localhost\n" > "$1/etc/hosts"'
  if [ ! -f "$wheels/.complete" ]; then
    local venv="$cache/.wheels-venv-$$"
    trap 'rm -rf -- "$venv"' EXIT
    rm -rf -- "$wheels"
    python3 -m venv "$venv"
    "$venv/bin/pip" wheel --quiet --disable-pip-version-check --wheel-dir "$wheels" "$ANSIBLE_REQUIREMENT"
    rm -rf -- "$venv"
    trap - EXIT
    touch "$wheels/.complete"
  fi
}

copy() {
  local root=$1
  [ -f "$tarball" ] || die "no cached controller root at $tarball; run '$0 build' first (it needs the Debian mirror)"
  [ -e "$root" ] && die "$root exists"
  install -d -m 0755 "$root"
  tar --zstd -xpf "$tarball" -C "$root" --numeric-owner
}

run() {
  local root=$1
  shift
  local options=() directory=/root
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --chdir) directory=$2; shift 2 ;;
      --setenv) options+=("--setenv=$2"); shift 2 ;;
      --bind-ro) options+=("--bind-ro=$2"); shift 2 ;;
      --) shift; break ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ "$#" -ge 1 ] || die "run: no command"
  [ -x "$root/usr/bin/bash" ] || die "$root is not a controller root (no usr/bin/bash)"
  # A cgroup of our own in both hierarchies, so nspawn's --keep-unit has a group that is this run's alone.
  local name dir status=0
  name="mcpc-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
  for dir in $(nspawn_cgroup_dirs "$name"); do mkdir -p -- "$dir"; done
  # Our stdin goes to the command (`serve` reads MCP from it): a background job would get /dev/null instead, so it
  # is handed over explicitly.
  exec 3<&0
  (
    for dir in $(nspawn_cgroup_dirs "$name"); do echo "$BASHPID" > "$dir/cgroup.procs"; done
    exec systemd-nspawn --quiet --as-pid2 --directory="$root" "--machine=$name" --register=no --keep-unit \
      --hostname=mcp-controller "--chdir=$directory" --console=pipe --resolv-conf=off --timezone=off --link-journal=no \
      "${options[@]}" -- "$@"
  ) 0<&3 3<&- &
  exec 3<&-
  local pid=$!
  # A caller that stops us (an MCP client ending `serve`) stops the container's command the same way.
  trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT
  wait "$pid" || status=$?
  # wait returns early when a trapped signal arrives: wait again for the real exit.
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || status=$?; done
  trap - TERM INT
  nspawn_remove_cgroups "$name"
  rm -rf -- "/run/systemd/nspawn/propagate/$name" "/run/systemd/nspawn/unix-export/$name"
  return "$status"
}

case "$1" in
  build) build ;;
  copy)
    [ "$#" -eq 2 ] || die "usage: $0 copy ROOT"
    case "$2" in /*) ;; *) die "ROOT must be an absolute path" ;; esac
    copy "$2" ;;
  wheels)
    [ -f "$wheels/.complete" ] || die "no wheel folder at $wheels; run '$0 build' first"
    echo "$wheels" ;;
  run)
    [ "$#" -ge 3 ] || die "usage: $0 run ROOT [--chdir DIR] [--setenv N=V]... [--bind-ro S:D]... -- COMMAND..."
    case "$2" in /*) ;; *) die "ROOT must be an absolute path" ;; esac
    run "${@:2}" ;;
  *) die "unknown command $1 (use build, copy, wheels or run)" ;;
esac

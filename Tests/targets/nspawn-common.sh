#!/bin/bash
# Sourced by nspawn-target.sh and nspawn-controller.sh: the one way both build a Debian 12 image and take a
# systemd-nspawn run's cgroups down. Defines functions only.

# The cache folder of the images (outside git).
# shellcheck disable=SC2034 # read by the scripts that source this file
nspawn_cache=${MCP_INFRA_CACHE:-/var/cache/mcp-linux-infra}

# nspawn_key WORD...: a short hash of an image's recipe and package list, which names its cached files.
nspawn_key() {
  printf '%s\n' "$@" | sha256sum | cut -c1-16
}

# nspawn_build_image TARBALL PACKAGES_CSV [MMDEBSTRAP_OPTION...]
#   Builds TARBALL (a .tar.zst) once with mmdebstrap from the Debian mirror: minbase plus PACKAGES_CSV, merged
#   /usr, an empty machine-id (each boot makes its own), C.UTF-8; the options add the image's own hooks.
nspawn_build_image() {
  local tarball=$1 packages=$2 tool
  shift 2
  for tool in mmdebstrap zstd systemd-nspawn; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install mmdebstrap zstd systemd-container)"
  done
  install -d -m 0755 "$(dirname -- "$tarball")"
  [ -f "$tarball" ] && return 0
  # mmdebstrap picks the output format from the name's ending: keep .tar.zst last. A global, not a local: the
  # EXIT trap runs after this frame is gone.
  nspawn_partial="$(dirname -- "$tarball")/.partial-$$-$(basename -- "$tarball")"
  trap 'rm -rf -- "$nspawn_partial"' EXIT
  # merged-usr hook: without it mmdebstrap pulls in usrmerge and perl.
  # shellcheck disable=SC2016 # the hooks are run by mmdebstrap's shell, with $1 = the new root
  mmdebstrap --quiet --variant=minbase --include="$packages" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --customize-hook='printf "" > "$1/etc/machine-id"' \
    --customize-hook='printf "LANG=C.UTF-8\n" > "$1/etc/default/locale"' \
    "$@" bookworm "$nspawn_partial"
  mv -- "$nspawn_partial" "$tarball"
  trap - EXIT
}

# nspawn_cgroup_dirs NAME: the two cgroup directories of one run, unified (v2) first.
nspawn_cgroup_dirs() {
  printf '%s\n' "/sys/fs/cgroup/unified/$1" "/sys/fs/cgroup/systemd/$1"
}

# nspawn_remove_cgroups NAME: whatever still runs in the run's cgroup is killed by the kernel, as one group (its
# processes sit in sub-groups, so the whole tree is read); then both trees are removed, depth-first.
nspawn_remove_cgroups() {
  local name=$1 unified dir
  unified=$(nspawn_cgroup_dirs "$name" | head -n 1)
  if [ -f "$unified/cgroup.kill" ] && [ -n "$(find "$unified" -name cgroup.procs -exec cat {} + 2>/dev/null)" ]; then
    echo 1 > "$unified/cgroup.kill" || true
    for _ in $(seq 100); do
      [ -z "$(find "$unified" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  for dir in $(nspawn_cgroup_dirs "$name"); do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ ! -d "$dir" ] || { sleep 0.2; find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true; }
    [ ! -d "$dir" ] || echo "nspawn: could not remove cgroup $dir" >&2
  done
}

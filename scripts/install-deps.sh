#!/bin/bash
# Installs the Debian 12 packages mcp-linux-infra builds and tests with. Run as root; idempotent.
set -eu
[ "$(id -u)" -eq 0 ] || { echo "install-deps: run as root (apt-get)" >&2; exit 1; }
command -v swift >/dev/null 2>&1 || [ -x /opt/swift/usr/bin/swift ] || {
  echo "install-deps: a Swift 6.1+ toolchain is required (swift not found on PATH)" >&2
  exit 1
}
packages="libssh2-1-dev libsqlite3-dev openssh-server openssh-client shellcheck sudo iproute2 procps python3 python3-venv iputils-ping curl
dpkg-dev binutils man-db libcurl4-openssl-dev
systemd-container mmdebstrap zstd chromium chromium-driver postgresql"
missing=
for package in $packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
# PostgreSQL's server binaries are for the PostgreSQL store's tests, which start a private cluster of their own
# (initdb/pg_ctl on a unix socket in a temporary folder): no system cluster is created, so the package's
# postinst has nothing to start (it cannot in a container without systemd).
install -d -m 0755 /etc/postgresql-common/createcluster.d
[ -e /etc/postgresql-common/createcluster.d/mcp-linux-infra.conf ] \
  || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/mcp-linux-infra.conf
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # one package per word
  apt-get install -y -qq --no-install-recommends $missing
fi
# The Debian postinst neither starts sshd nor creates its privilege-separation directory.
install -d -m 0755 /run/sshd

# Test tooling outside git, under one cache folder (MCP_INFRA_CACHE): Ansible and ansible-lint in a venv,
# and the Debian 12 root filesystem of the systemd-nspawn test targets (built once, from the Debian mirror).
cache=${MCP_INFRA_CACHE:-/var/cache/mcp-linux-infra}
venv="$cache/ansible-venv"
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -x "$venv/bin/ansible-lint" ]; then
  install -d -m 0755 "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'ansible-core>=2.19,<2.20' 'ansible-lint>=26,<27'
fi
# The official MCP Python SDK (and jsonschema) for the tests that drive the server as a real client; selenium
# drives the Debian chromium headless for the console's browser test; prometheus_client parses /metrics.
mcp_venv="$cache/mcp-venv"
if [ ! -x "$mcp_venv/bin/python" ] || ! "$mcp_venv/bin/python" -c 'import mcp, jsonschema, selenium, prometheus_client' 2>/dev/null; then
  python3 -m venv "$mcp_venv"
  "$mcp_venv/bin/pip" install --quiet --disable-pip-version-check 'mcp>=2.3,<3' 'jsonschema>=4,<5' 'selenium>=4.20,<5' \
    'prometheus_client>=0.20,<1'
fi
bash "$(dirname "$0")/../Tests/targets/nspawn-target.sh" build >/dev/null
# The quickstart test's controller: a Debian 12 root without Swift, and the wheels of the quickstart's Ansible.
bash "$(dirname "$0")/../Tests/targets/nspawn-controller.sh" build >/dev/null

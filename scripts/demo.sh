#!/bin/bash
# The product's main job on one machine, as an operator does it (docs/QUICKSTART.md, path A): boot a real
# Debian 12 host (systemd-nspawn, its own network namespace), prepare it with the Ansible role over SSH as
# root, and check both accounts with `mcp-linux-infra doctor`. Run as root on Debian 12; everything it
# starts is torn down on exit.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
step() { printf '\n==> %s\n' "$*"; }

step "Installing dependencies (apt, Ansible venv, the target's root filesystem; cached after the first run)"
bash scripts/install-deps.sh
export PATH="/var/cache/mcp-linux-infra/ansible-venv/bin:$PATH"

step "Building mcp-linux-infra"
swift build --product mcp-linux-infra 2>&1 | tail -n 1

demo=/run/mcp-linux-infra-demo
target="$demo/target"
cleanup() {
  step "Tearing down"
  for socket in "$demo"/cm/*; do
    [ -S "$socket" ] && ssh -o "ControlPath=$socket" -O exit unused 2>/dev/null
  done
  bash Tests/targets/nspawn-target.sh down "$target"
  rm -rf -- "$demo"
}
[ ! -d "$target" ] || bash Tests/targets/nspawn-target.sh down "$target"
rm -rf -- "$demo"
install -d -m 0700 "$demo" "$demo/keys" "$demo/cm"
trap cleanup EXIT

step "Booting a Debian 12 target (systemd, sshd, unbound, caddy, fail2ban) at 10.231.200.2"
bash Tests/targets/nspawn-target.sh up "$target" --index 200

step "Keys: one pair per account, and the target's pinned host key ($demo/keys)"
ssh-keygen -q -t ed25519 -N '' -C mcp-reader -f "$demo/keys/mcp-reader"
ssh-keygen -q -t ed25519 -N '' -C pra-runner -f "$demo/keys/pra-runner"
cp "$target/known_hosts" "$demo/keys/known_hosts"
cat "$demo/keys/known_hosts"

step "One inventory for Ansible and for the server ($demo/inventory.yml)"
cat > "$demo/inventory.yml" <<INV
all:
  vars:
    mcp_infra_keys_dir: $demo/keys
    mcp_infra_allowed_from: [10.231.200.1]
  hosts:
    demo:
      ansible_host: 10.231.200.2
      ansible_user: root
      ansible_python_interpreter: /usr/bin/python3
      ansible_ssh_private_key_file: $target/bootstrap
      mcp_allowed_services: [unbound.service, caddy.service]
INV
cat "$demo/inventory.yml"
cat > "$demo/.env" <<ENV
LINUX_MCP_INVENTORY=$demo/inventory.yml
LINUX_MCP_KNOWN_HOSTS=$demo/keys/known_hosts
LINUX_MCP_CATALOGUE=$repo/system/pra-catalogue.tsv
LINUX_MCP_DB=$demo/state/state.sqlite3
LINUX_MCP_READER_KEY=$demo/keys/mcp-reader
LINUX_MCP_RUNNER_KEY=$demo/keys/pra-runner
LINUX_MCP_SSH_AGENT=none
ENV

export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=$demo/cm/%C -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$demo/keys/known_hosts"
export ANSIBLE_PIPELINING=true ANSIBLE_HOME="$demo/ansible-home" ANSIBLE_LOCAL_TEMP="$demo/ansible-tmp"
step "ansible-playbook deploy-mcp-infra.yml (as root over SSH with the bootstrap key)"
ansible-playbook -i "$demo/inventory.yml" "$repo/ansible/playbooks/deploy-mcp-infra.yml"

step "The same playbook again: nothing to change"
ansible-playbook -i "$demo/inventory.yml" "$repo/ansible/playbooks/deploy-mcp-infra.yml" | tail -n 3

step "mcp-linux-infra doctor: pinned host key, authentication, forced command, per host and account"
.build/debug/mcp-linux-infra doctor --env-file "$demo/.env"

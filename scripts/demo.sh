#!/bin/bash
# The product's main job on one machine, as an operator does it (docs/QUICKSTART.md, path A): boot a real
# Debian 12 host (systemd-nspawn, its own network namespace), prepare it with the Ansible role over SSH as
# root, check both accounts with `mcp-linux-infra doctor`; then the whole story: unbound goes down, an MCP
# client (the official Python SDK, standing in for the AI) diagnoses it and proposes restart_unbound, a human
# (another OS account, their SSH key in their own ssh-agent) reviews it and signs the approval with the CLI,
# the client executes it, the target's root side verifies the signature before anything runs, the server
# verifies the result, and `audit verify` proves the log. On the way, adding a second approver shows the role's
# confirmation step: the redeploy is refused, printing the new set and its hash, until the operator passes it. The runner key alone is shown to run nothing. Run as root on Debian 12; everything it starts is torn down on exit.
# With --http the AI's client talks to `serve --http` over Streamable HTTP with a bearer token of its own (the
# token's name is the proposer), instead of starting `serve` on stdio; the rest of the story is the same.
# The controller side is the install layout (docs/INSTALL.md) under $demo, made by `mcp-linux-infra setup` with an
# account and groups of the demo's own: the server runs as that account, the approver is in the approvers' group.
set -eu -o pipefail
mode=stdio
case "${1:-}" in
  "") ;;
  --http) mode=http ;;
  *) echo "usage: bash scripts/demo.sh [--http]" >&2; exit 2 ;;
esac
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
config="$demo/etc/mcp-linux-infra"   # the install layout under the prefix $demo (docs/INSTALL.md)
settings="$config/settings.env"
# remove_accounts: the demo's users and groups, by their names.
remove_accounts() {
  local name
  for name in "$approver" "$account"; do
    if id -u "$name" >/dev/null 2>&1; then userdel "$name" || echo "demo: userdel $name failed" >&2; fi
  done
  for name in "$approvers" "$account" "$approver"; do
    if getent group "$name" >/dev/null; then groupdel "$name" || echo "demo: groupdel $name failed" >&2; fi
  done
}
cleanup() {
  step "Tearing down"
  for socket in "$demo"/cm/*; do
    [ -S "$socket" ] && ssh -o "ControlPath=$socket" -O exit unused 2>/dev/null
  done
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  bash "$repo/Tests/targets/nspawn-target.sh" down "$target"
  rm -rf -- "$demo"
  remove_accounts
}
account=mcp-demo-server approver=mcp-demo-approver approvers=mcp-demo-approvers principal=approver@demo.example agent_pid='' server_pid=''
[ ! -d "$target" ] || bash Tests/targets/nspawn-target.sh down "$target"
rm -rf -- "$demo"
remove_accounts
install -d -m 0711 "$demo"
install -d -m 0700 "$demo/cm"
trap cleanup EXIT

step "Booting a Debian 12 target (systemd, sshd, unbound, caddy, fail2ban) at 10.231.200.2"
bash Tests/targets/nspawn-target.sh up "$target" --index 200

binary=$repo/.build/debug/mcp-linux-infra
# Every account runs a copy outside the checkout (which may sit under a home they cannot enter).
install -m 0755 "$binary" "$demo/mcp-linux-infra"

step "A human approver's OS account ($approver); their key will sit in an ssh-agent of their own"
useradd -M -U -s /usr/sbin/nologin "$approver"

step "mcp-linux-infra setup: the server's account, the approvers' group, configuration, keys and database (under $demo)"
"$demo/mcp-linux-infra" setup --prefix "$demo" --account "$account" --approvers-group "$approvers" \
  --catalogue "$repo/system/pra-catalogue.tsv" --approver "$approver"
# Work in the configuration folder, as an operator would (settings.env's relative paths resolve against it from anywhere).
cd "$config"
# "${as_server[@]}" CMD...: CMD as the server's account (its groups, its environment; the keys through its group).
# setpriv execs CMD, so a server started in the background is the process $! names.
as_server=(setpriv --reuid="$account" --regid="$account" --init-groups --reset-env --)

step "The target's pinned host key ($config/known_hosts)"
cat "$target/known_hosts" >> "$config/known_hosts"
cat "$config/known_hosts"

step "The approver's own SSH key (they keep it; the role installs only its public half on the target)"
install -d -m 0700 "$demo/approver"
ssh-keygen -q -t ed25519 -N '' -C "$principal" -f "$demo/approver/id_ed25519"
approver_key=$(cut -d' ' -f1,2 "$demo/approver/id_ed25519.pub")
echo "$principal $approver_key"

step "One inventory for Ansible and for the server ($config/inventory.yml)"
# write_inventory APPROVERS: the inventory, with this YAML flow list as mcp_approvers.
write_inventory() {
  cat > "$config/inventory.yml" <<INV
all:
  vars:
    mcp_infra_keys_dir: $config/keys
    mcp_infra_allowed_from: [10.231.200.1]
  hosts:
    demo:
      ansible_host: 10.231.200.2
      ansible_user: root
      ansible_python_interpreter: /usr/bin/python3
      ansible_ssh_private_key_file: $target/bootstrap
      mcp_allowed_services: [unbound.service, caddy.service]
      mcp_approvers: $1
INV
}
write_inventory "[{principal: $principal, key: \"$approver_key\"}]"
cat "$config/inventory.yml"

root_ssh=(ssh -i "$target/bootstrap" -o IdentitiesOnly=yes -o BatchMode=yes -o "UserKnownHostsFile=$config/known_hosts" -l root 10.231.200.2)
export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=$demo/cm/%C -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$config/known_hosts"
export ANSIBLE_PIPELINING=true ANSIBLE_HOME="$demo/ansible-home" ANSIBLE_LOCAL_TEMP="$demo/ansible-tmp"
step "ansible-playbook deploy-mcp-infra.yml (as root over SSH with the bootstrap key)"
ansible-playbook -i "$config/inventory.yml" "$repo/ansible/playbooks/deploy-mcp-infra.yml"

step "The same playbook again: nothing to change"
ansible-playbook -i "$config/inventory.yml" "$repo/ansible/playbooks/deploy-mcp-infra.yml" | tail -n 3

step "A second approver is added to the inventory: the role refuses to change the host's approvers unconfirmed"
ssh-keygen -q -t ed25519 -N '' -C "second@demo.example" -f "$demo/second-approver"
second_key=$(cut -d' ' -f1,2 "$demo/second-approver.pub")
write_inventory "[{principal: $principal, key: \"$approver_key\"}, {principal: second@demo.example, key: \"$second_key\"}]"
if ansible-playbook -i "$config/inventory.yml" "$repo/ansible/playbooks/deploy-mcp-infra.yml" > "$demo/unconfirmed.out" 2>&1; then
  echo "demo: the approvers changed without confirmation" >&2; exit 1
fi
grep -E 'approvers set of|SHA256:|approvals LOW|longest approval window|recorded before|Nothing was changed' "$demo/unconfirmed.out" \
  | grep -v '^fatal' | sed 's/^ *//'
confirm=$(grep -o 'MCP_APPROVERS_CONFIRM=[0-9a-f]\{64\}' "$demo/unconfirmed.out" | head -n 1 | cut -d= -f2)
[ -n "$confirm" ] || { echo "demo: the refusal printed no confirmation hash" >&2; cat "$demo/unconfirmed.out" >&2; exit 1; }
echo "    the host still has one approver: $("${root_ssh[@]}" grep -c namespaces= /usr/local/etc/mcp-linux-infra/allowed_signers)"

step "The operator checked the new set and confirms it: MCP_APPROVERS_CONFIRM=$confirm ansible-playbook ..."
MCP_APPROVERS_CONFIRM=$confirm ansible-playbook -i "$config/inventory.yml" "$repo/ansible/playbooks/deploy-mcp-infra.yml" | tail -n 3
"${root_ssh[@]}" journalctl --no-pager -o short-iso _UID=0 -t mcp-linux-infra-role

step "mcp-linux-infra doctor: pinned host key, authentication, forced command, per host and account"
"${as_server[@]}" "$demo/mcp-linux-infra" doctor --env-file "$settings"

python=/var/cache/mcp-linux-infra/mcp-venv/bin/python
# The AI's client starts `serve` on stdio through this, as the server's account (docs/INSTALL.md does it with sudo -u).
cat > "$demo/serve-as-account" <<WRAP
#!/bin/sh
exec setpriv --reuid=$account --regid=$account --init-groups --reset-env -- $demo/mcp-linux-infra "\$@"
WRAP
chmod 0755 "$demo/serve-as-account"

step "The approver ($approver, in $approvers) loads their key ($principal) into an ssh-agent of their own"
chown -R "$approver" "$demo/approver"
runuser -u "$approver" -- ssh-agent -D -a "$demo/approver/agent.sock" > /dev/null 2>&1 &
agent_pid=$!
# The socket exists from bind(); wait until the agent answers (ssh-add -l exits 2 while it cannot connect).
for _ in $(seq 100); do
  listed=0
  runuser -u "$approver" -- env SSH_AUTH_SOCK="$demo/approver/agent.sock" ssh-add -l > /dev/null 2>&1 || listed=$?
  [ "$listed" -ne 2 ] && break
  sleep 0.1
done
runuser -u "$approver" -- env SSH_AUTH_SOCK="$demo/approver/agent.sock" ssh-add -q "$demo/approver/id_ed25519"
rm -f -- "$demo/approver/id_ed25519"   # the agent holds it now
runuser -u "$approver" -- "$demo/mcp-linux-infra" actions list --env-file "$settings"

server=$demo/serve-as-account
if [ "$mode" = http ]; then
  step "The AI's client gets a bearer token of its own; the server listens on loopback (serve --http)"
  MCP_INFRA_TOKEN=$("${as_server[@]}" "$demo/mcp-linux-infra" tokens add demo-ai --env-file "$settings" | grep -o 'mlit_[A-Za-z0-9_-]*')
  export MCP_INFRA_TOKEN
  "${as_server[@]}" "$demo/mcp-linux-infra" tokens list --env-file "$settings"
  "${as_server[@]}" "$demo/mcp-linux-infra" serve --http 127.0.0.1:0 --env-file "$settings" 2> "$demo/http.log" &
  server_pid=$!
  for _ in $(seq 600); do
    address=$(grep -o 'mcp=http://127\.0\.0\.1:[0-9]*/mcp' "$demo/http.log" | head -n 1 | cut -d= -f2) || true
    [ -n "$address" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$demo/http.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$address" ] || { echo "demo: serve --http did not start listening" >&2; cat "$demo/http.log" >&2; exit 1; }
  server=$address
  echo "    MCP at $server (the review console at ${server%/mcp}/)"
  echo "    without the token: HTTP $(curl -s -o /dev/null -w '%{http_code}' -X POST "$server")"
fi

step "Incident: unbound stops on the target"
"${root_ssh[@]}" systemctl stop unbound.service

step "The AI (an MCP client over $mode) diagnoses and proposes; it cannot approve"
"$python" "$repo/scripts/demo_client.py" "$server" "$settings" diagnose-and-propose demo | tee "$demo/propose.out"
id=$(tail -n 1 "$demo/propose.out")

step "The human reviews the proposal and the exact statement they will sign: actions show --principal (as $approver)"
runuser -u "$approver" -- "$demo/mcp-linux-infra" actions show "$id" --principal "$principal" --env-file "$settings"
digest=$(runuser -u "$approver" -- "$demo/mcp-linux-infra" actions show "$id" --env-file "$settings" | awk '$1 == "digest:" { print $2 }')

step "The runner key alone runs nothing: pra-run (root) refuses a request without a signed approval"
if "${as_server[@]}" ssh -F /dev/null -i "$config/keys/pra-runner" -o IdentitiesOnly=yes -o BatchMode=yes -o "UserKnownHostsFile=$config/known_hosts" \
    pra-runner@10.231.200.2 "restart_unbound id=$id" < /dev/null; then
  echo "demo: the runner key ran an action without approval" >&2; exit 1
else
  echo "    refused (exit $?), as it must be"
fi

step "The human approves: the statement is signed with the key in their ssh-agent (as $approver)"
runuser -u "$approver" -- env SSH_AUTH_SOCK="$demo/approver/agent.sock" "$demo/mcp-linux-infra" actions approve "$id" --digest "$digest" --env-file "$settings"

step "The AI executes it once; the server verifies through the read-only account"
"$python" "$repo/scripts/demo_client.py" "$server" "$settings" execute "$id" demo

step "On the target: the proposal id $id and the approver the root side verified, in the journal (pra-exec, pra-run)"
"${root_ssh[@]}" journalctl --no-pager -o short-iso -t pra-exec -t pra-run --grep "$id"

if [ "$mode" = http ]; then
  step "SIGTERM: the HTTP server stops in order (running actions finish, sessions close, the stop is audited)"
  kill -TERM "$server_pid"
  wait "$server_pid"
  server_pid=
  echo "    serve --http exited with status 0"
fi

step "The audit log: the last rows, then the whole chain recomputed"
# As root, who may read the audit witness in the journal; --hosts reads the reader key: as the server's account.
"$demo/mcp-linux-infra" audit tail -n 8 --env-file "$settings"
"$demo/mcp-linux-infra" audit verify --env-file "$settings"
"${as_server[@]}" "$demo/mcp-linux-infra" audit verify --hosts --env-file "$settings"

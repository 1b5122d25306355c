#!/bin/bash
# Wrapper overhead benchmark: what mcp-wrapper, pra-exec and pra-run cost per request on a real target, against
# the bare tool run as the same user. It boots a Debian 12 nspawn target (Tests/targets/nspawn-target.sh),
# deploys the role onto it with ansible-playbook as an operator would, then runs bench/wrapper-bench-target.sh
# *inside* the target as root (over SSH with the bootstrap key). That script times each request target-side,
# started the way sshd starts a forced command (the account's /bin/sh -c "exec PREFIX/lib/... --role=ROLE",
# SSH_ORIGINAL_COMMAND, SSH_CONNECTION and SSH_CLIENT set, sshd's small environment), and prints medians,
# overheads against the goal (<= 5 ms) and a per-step breakdown (bash xtrace stamped with $EPOCHREALTIME).
# Run as root, under the lock every nspawn user takes:
#   flock /tmp/mcp-nspawn.lock bash bench/wrapper-bench.sh [--prototype] [--baseline REV] [ITERATIONS]   (default 100)
# --prototype also builds bench/prototype/mcp-wrapper.c (cc; the target runs the same Debian 12 libc) and
# times it on the same requests (rows NAME-c). It is never installed by the role.
# --baseline REV also times the target scripts of git revision REV (rows NAME-base), installed beside the
# role's on the same target and timed in the same run, so before and after see the same load.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
prototype='' baseline_rev=''
while [ "$#" -gt 0 ]; do
  case $1 in
    --prototype) prototype=1; shift ;;
    --baseline) [ "$#" -ge 2 ] || { echo "wrapper-bench: --baseline needs a revision" >&2; exit 64; }; baseline_rev=$2; shift 2 ;;
    *) break ;;
  esac
done
iterations=${1:-100}
[[ $iterations =~ ^[1-9][0-9]{0,4}$ ]] || { echo "wrapper-bench: ITERATIONS must be a number" >&2; exit 64; }
[ "$(id -u)" -eq 0 ] || { echo "wrapper-bench: run as root (it boots an nspawn target)" >&2; exit 1; }
cache=${MCP_INFRA_CACHE:-/var/cache/mcp-linux-infra}
[ -x "$cache/ansible-venv/bin/ansible-playbook" ] || { echo "wrapper-bench: no Ansible venv: run scripts/install-deps.sh" >&2; exit 1; }
[ -z "$prototype" ] || command -v cc >/dev/null 2>&1 || { echo "wrapper-bench: --prototype needs a C compiler (apt-get install gcc)" >&2; exit 1; }
index=${WRAPPER_BENCH_INDEX:-240}
state=/run/mcp-linux-infra-wrapperbench
target=$state/target
work=$state/deploy

cleanup() {
  local socket
  for socket in "$work"/cm/*; do
    if [ -S "$socket" ]; then /usr/bin/ssh -o ControlPath="$socket" -O exit unused 2>/dev/null || true; fi
  done
  bash Tests/targets/nspawn-target.sh down "$target"
  rm -rf -- "$state"
}
cleanup
trap cleanup EXIT
install -d -m 0700 "$state"
bash Tests/targets/nspawn-target.sh up "$target" --index "$index"
address=$(cat "$target/address")

# The operator's side, as DeploymentWorkspace makes it for the end-to-end tests: both accounts' keys, one
# approver, the pinned known_hosts and one inventory.
install -d -m 0700 "$work" "$work/keys" "$work/cm"
for name in mcp-reader pra-runner alice; do
  ssh-keygen -q -t ed25519 -N '' -C wrapper-bench -f "$work/keys/$name"
done
cp -- "$target/known_hosts" "$work/keys/known_hosts"
alice=$(cut -d' ' -f1,2 "$work/keys/alice.pub")
cat > "$work/inventory.yml" <<EOF
all:
  vars:
    ansible_user: root
    ansible_python_interpreter: /usr/bin/python3
    mcp_infra_keys_dir: $work/keys
    mcp_approvers: [{principal: alice@example.org, key: "$alice"}]
  hosts:
    bench:
      ansible_host: $address
      ansible_ssh_private_key_file: $target/bootstrap
      mcp_infra_allowed_from: [10.231.$index.1]
      mcp_allowed_services: [unbound.service]
EOF
echo "wrapper-bench: deploying the role onto $address" >&2
PATH="$cache/ansible-venv/bin:$PATH" ANSIBLE_PIPELINING=true ANSIBLE_NOCOLOR=true ANSIBLE_RETRY_FILES_ENABLED=false \
  ANSIBLE_LOCAL_TEMP=$work/ansible-local ANSIBLE_HOME=$work/ansible-home \
  ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=$work/cm/%C -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$work/keys/known_hosts -o IdentityAgent=none" \
  ansible-playbook -i "$work/inventory.yml" "$repo/ansible/playbooks/deploy-mcp-infra.yml" > "$work/ansible.log" 2>&1 \
  || { tail -n 40 "$work/ansible.log" >&2; exit 1; }

root_ssh=(/usr/bin/ssh -i "$target/bootstrap" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes
          -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$target/known_hosts" -o ControlMaster=no -l root "$address")
# The bench script (and any extra files) travel as a tar stream on stdin: the target has no shared folder.
bundle=$state/bundle
install -d -m 0755 "$bundle" "$bundle/extra"
cp -- bench/wrapper-bench-target.sh "$bundle/"
if [ -n "$baseline_rev" ]; then
  install -d -m 0755 "$bundle/baseline"
  for file in mcp-wrapper pra-exec pra-run target-common.sh pra-catalogue.tsv; do
    git show "$baseline_rev:system/$file" > "$bundle/baseline/$file"
  done
fi
if [ -n "$prototype" ]; then
  cc -O2 -Wall -Wextra -Werror -DPREFIX='"/usr/local"' -o "$bundle/extra/mcp-wrapper" bench/prototype/mcp-wrapper.c
fi
tar -C "$bundle" -cf - . | "${root_ssh[@]}" \
  "rm -rf /run/wrapper-bench && install -d -m 0755 /run/wrapper-bench && tar -C /run/wrapper-bench -xf - && chmod -R go+rX /run/wrapper-bench"
"${root_ssh[@]}" "bash /run/wrapper-bench/wrapper-bench-target.sh $iterations"

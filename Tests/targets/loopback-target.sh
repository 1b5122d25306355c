#!/bin/bash
# A loopback SSH target for tests and the demo: a private sshd on 127.0.0.1, two forced-command accounts.
#
#   loopback-target.sh up STATE_DIR [--reader NAME] [--runner NAME] [--port N] [--system [--extra-catalogue FILE]] [--listen-any]
#                         [--hosts N] [--sshd-line 'KEYWORD VALUE']... [--approval-max-window SECONDS]
#                         [--alice-also-as PRINCIPAL]
#   loopback-target.sh down STATE_DIR
#
# `up` (as root) creates STATE_DIR with host keys, client keys, the two accounts, root-owned
# authorized_keys with restrict,command=..., an sshd config, a pinned known_hosts and an inventory, then
# starts sshd and waits until it answers with the pinned key. It writes STATE_DIR/linux-mcp.env, a .env
# for mcp-linux-infra. `down` stops every process it started, by the PIDs and user names it saved, and
# removes the accounts and STATE_DIR. Nothing is matched by pattern.
#
# Without --system the accounts are forced into test-wrapper.sh (SSH-core tests: exit codes, floods, sleeps).
# With --system they get the real target side from system/, installed as a host gets it: mcp-wrapper and
# pra-exec under STATE_DIR/prefix/lib/mcp-linux-infra, host settings under STATE_DIR/prefix/etc/mcp-linux-infra,
# a sudoers drop-in rendered from the catalogue (checked with visudo), and a syslog sink socket whose
# messages land in STATE_DIR/audit.log. --extra-catalogue appends test-only actions to the catalogue.
# --listen-any makes sshd listen on every address (0.0.0.0): only for a network namespace the caller created,
# where it answers on all of 127.0.0.0/8 (the benchmark's 100 hosts) and nowhere else.
# With --system there are also two approvers, alice@loopback and bob@loopback: their ed25519 keys in
# STATE_DIR/approvers/{alice,bob} (root's, mode 600), listed in the inventory's mcp_approvers and in the
# target's allowed_signers, with the role's thresholds (LOW 1, MEDIUM 1, HIGH 2), inventory-name loopback and
# approval-max-window 3600 (--approval-max-window sets another number; the file holds it as given).
# --alice-also-as PRINCIPAL lists alice's key a second time, under PRINCIPAL, in the target's allowed_signers
# only (as a hand-edited file could; the role and the inventory refuse it): one key under two principals.
# --sshd-line adds one line to the sshd config (an operator's looser setting, e.g. 'AcceptEnv BASH_ENV').
# --hosts N (2..200) makes the inventory name N hosts h1 .. hN (group fleet) at 127.0.0.1 .. 127.0.0.N, each
# pinned in known_hosts, and sshd listen on each of those addresses (up to 16; more need --listen-any).
set -eu

die() { echo "loopback-target: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it starts sshd and creates Unix accounts)"
[ "$#" -ge 2 ] || die "usage: $0 up|down STATE_DIR [options]"
command=$1
state=$2
shift 2
case "$state" in /*) ;; *) die "STATE_DIR must be an absolute path" ;; esac
here=$(cd "$(dirname "$0")" && pwd)

live_pids_of_user() {
  # Live (not zombie) processes owned by an account we created, in this PID namespace only. A uid is just a
  # number: a container (the nspawn test targets share the kernel, with no user namespace) may have its own
  # account with the same uid, and its processes are not ours to kill.
  local pid ours
  ours=$(readlink /proc/self/ns/pid)
  for pid in $(ps -o pid=,stat= -u "$1" 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }' || true); do
    if [ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" = "$ours" ]; then echo "$pid"; fi
  done
  return 0
}

is_alive() {
  # A killed process may stay a zombie until PID 1 reaps it; that counts as gone.
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ]
}

# Targets started side by side change /etc/passwd at once, and shadow's own lock gives up after 15 s under
# load ("cannot lock /etc/passwd"): account changes of all loopback targets go one at a time.
accounts() {
  install -d -m 0755 /run/mcp-infra-tests
  flock -w 300 /run/mcp-infra-tests/.accounts.lock "$@"
}

kill_user_processes() {
  # Every process owned by one of the accounts we created, by PID.
  local user=$1 pids
  pids=$(live_pids_of_user "$user")
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086 # one PID per word
  kill -KILL $pids 2>/dev/null || true
}

down() {
  [ -d "$state" ] || return 0
  if [ -f "$state/sshd.pid.saved" ]; then
    local pid
    pid=$(cat "$state/sshd.pid.saved")
    # Only signal it if it is still our sshd (its command line names our config file).
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$state/sshd_config"; then
      # Per-connection sshd children outlive the listener: stop them first, by PID.
      local children
      children=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
      kill -TERM "$pid" 2>/dev/null || true
      # shellcheck disable=SC2086 # one PID per word
      [ -z "$children" ] || kill -KILL $children 2>/dev/null || true
      for _ in $(seq 50); do is_alive "$pid" || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$state/sink.pid.saved" ]; then
    local sink
    sink=$(cat "$state/sink.pid.saved")
    if [ -r "/proc/$sink/cmdline" ] && tr '\0' ' ' < "/proc/$sink/cmdline" | grep -qF -- "$state/log.sock"; then
      kill -KILL "$sink" 2>/dev/null || true
    fi
  fi
  if [ -f "$state/sudoers.saved" ]; then
    rm -f -- "$(cat "$state/sudoers.saved")"
  fi
  if [ -f "$state/users.saved" ]; then
    while read -r user; do
      [ -n "$user" ] || continue
      if id -u "$user" >/dev/null 2>&1; then
        kill_user_processes "$user"
        for _ in $(seq 20); do [ -z "$(live_pids_of_user "$user")" ] && break; sleep 0.1; done
        accounts userdel "$user" 2>/dev/null || accounts userdel -f "$user"
      fi
    done < "$state/users.saved"
  fi
  rm -rf -- "$state"
}

if [ "$command" = down ]; then
  down
  exit 0
fi
[ "$command" = up ] || die "unknown command $command (use up or down)"

reader=mcp-reader
runner=pra-runner
port=
system=
extra_catalogue=
listen=127.0.0.1
hosts=1
sshd_lines=()
max_window=3600
alice_alias=
while [ "$#" -gt 0 ]; do
  case "$1" in
    --reader) reader=$2; shift 2 ;;
    --runner) runner=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --system) system=1; shift ;;
    --extra-catalogue) extra_catalogue=$2; shift 2 ;;
    --listen-any) listen=0.0.0.0; shift ;;
    --hosts) hosts=$2; shift 2 ;;
    --approval-max-window) max_window=$2; shift 2 ;;
    --alice-also-as)
      case "$2" in *[!A-Za-z0-9_.@+-]*|'') die "--alice-also-as takes a principal (letters, digits, _.@+-)" ;; esac
      alice_alias=$2; shift 2 ;;
    --sshd-line)
      case "$2" in *[!A-Za-z0-9\ _.,=*/-]*|'') die "--sshd-line takes 'KEYWORD VALUE' (letters, digits, space, _.,=*/-)" ;; esac
      sshd_lines+=("$2"); shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
case "$hosts" in ''|*[!0-9]*) die "--hosts takes a number" ;; esac
case "$max_window" in ''|*[!A-Za-z0-9]*) die "--approval-max-window takes one word (a number, or anything else to test refusals)" ;; esac
hosts=$((10#$hosts))
if [ "$hosts" -lt 1 ] || [ "$hosts" -gt 200 ]; then die "--hosts takes 1 to 200"; fi
# sshd listens on at most 16 sockets: a larger fleet needs --listen-any (in a network namespace of its own).
if [ "$hosts" -gt 16 ] && [ "$listen" != 0.0.0.0 ]; then die "--hosts over 16 needs --listen-any, in a network namespace you created"; fi
[ -e "$state" ] && die "$state exists; run '$0 down $state' first"
for user in "$reader" "$runner"; do
  id -u "$user" >/dev/null 2>&1 && die "account $user already exists; refusing to reuse an account this script did not create"
done
for tool in /usr/sbin/sshd ssh-keygen ssh-keyscan useradd; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install openssh-server openssh-client)"
done

fixed_port=$port
pick_port() {
  port=$fixed_port
  [ -z "$port" ] || return 0
  for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Htln "sport = :$candidate" 2>/dev/null)" ]; then port=$candidate; return 0; fi
  done
  die "no free port found"
}

# Any failure before the end (set -e, die) removes what was made so far.
up_done=
trap 'if [ -z "$up_done" ]; then echo "loopback-target: setup failed, cleaning up" >&2; down; fi' EXIT
umask 022
install -d -m 0755 "$state" "$state/bin" "$state/hostkeys" "$state/authorized_keys" "$state/home"
install -d -m 0700 "$state/keys"
install -d -m 0755 /run/sshd
: > "$state/users.saved"

ssh-keygen -q -t ed25519 -N '' -C "loopback-host" -f "$state/hostkeys/ssh_host_ed25519_key"
# A second host key type, so tests exercise libssh2 preferring ECDSA over the pinned ed25519 key.
ssh-keygen -q -t ecdsa -b 256 -N '' -C "loopback-host" -f "$state/hostkeys/ssh_host_ecdsa_key"
ssh-keygen -q -t ed25519 -N '' -C "mcp-reader@loopback" -f "$state/keys/mcp-reader"
ssh-keygen -q -t ed25519 -N '' -C "pra-runner@loopback" -f "$state/keys/pra-runner"

if [ -n "$system" ]; then
  repo=$(cd "$here/../.." && pwd)
  lib="$state/prefix/lib/mcp-linux-infra"
  etc="$state/prefix/etc/mcp-linux-infra"
  install -d -m 0755 "$lib" "$etc" "$state/logs" "$state/prefix/var/lib/mcp-linux-infra/slots"
  install -m 0755 "$repo/system/mcp-wrapper" "$repo/system/pra-exec" "$repo/system/pra-run" "$lib/"
  install -m 0644 "$repo/system/target-common.sh" "$repo/system/pra-catalogue.tsv" "$lib/"
  [ -z "$extra_catalogue" ] || cat "$extra_catalogue" >> "$lib/pra-catalogue.tsv"
  printf '%s\n' "$state/log.sock" > "$etc/log-socket"
  printf '%s\n' "$state/logs" /var/log > "$etc/log-roots"
  printf '%s\n' "$state" > "$etc/du-roots"
  printf '%s\n' nginx.service unbound.service > "$etc/allowed-services"
  printf '%s\n' web > "$etc/allowed-containers"
  printf '%s\n' http://127.0.0.1/ > "$etc/http-checks"
  printf '%s\n' 127.0.0.1 > "$etc/ping-targets"
  # Approvals, as the role renders them: who may sign, how many per impact, this host's name and keys.
  install -d -m 0700 "$state/approvers"
  : > "$etc/allowed_signers"
  for approver in alice bob; do
    ssh-keygen -q -t ed25519 -N '' -C "$approver@loopback" -f "$state/approvers/$approver"
    printf '%s@loopback namespaces="approval@mcp-linux-infra" %s\n' "$approver" \
      "$(cut -d' ' -f1,2 "$state/approvers/$approver.pub")" >> "$etc/allowed_signers"
  done
  if [ -n "$alice_alias" ]; then
    printf '%s namespaces="approval@mcp-linux-infra" %s\n' "$alice_alias" \
      "$(cut -d' ' -f1,2 "$state/approvers/alice.pub")" >> "$etc/allowed_signers"
  fi
  chmod 0644 "$etc/allowed_signers"
  printf 'LOW 1\nMEDIUM 1\nHIGH 2\n' > "$etc/approvals"
  printf '%s\n' "$max_window" > "$etc/approval-max-window"
  printf 'loopback\n' > "$etc/inventory-name"
  printf '%s\n' "$state/hostkeys/ssh_host_ed25519_key.pub" "$state/hostkeys/ssh_host_ecdsa_key.pub" > "$etc/host-keys"
  printf 'sshd[1]: Accepted publickey for someone\nkernel: disk error on sda\nplain line\n' > "$state/logs/app.log"
  chmod 0644 "$state/logs/app.log"
  reader_command="$lib/mcp-wrapper"
  runner_command="$lib/pra-exec"
  setsid python3 "$here/syslog-sink.py" "$state/log.sock" "$state/audit.log" < /dev/null > /dev/null 2>&1 &
  echo $! > "$state/sink.pid.saved"
  for _ in $(seq 100); do [ -S "$state/log.sock" ] && break; sleep 0.02; done
  [ -S "$state/log.sock" ] || die "syslog sink did not start"
else
  install -m 0755 "$here/test-wrapper.sh" "$state/bin/reader-command"
  install -m 0755 "$here/test-wrapper.sh" "$state/bin/runner-command"
  reader_command="$state/bin/reader-command"
  runner_command="$state/bin/runner-command"
fi

for user in "$reader" "$runner"; do
  accounts useradd --system --no-create-home --home-dir "$state/home" --shell /bin/sh "$user"
  echo "$user" >> "$state/users.saved"
  accounts usermod -p '*' "$user"   # locked ('!') accounts are refused by sshd without PAM
done
if [ -n "$system" ]; then
  for user in "$reader" "$runner"; do
    install -d -m 0700 -o "$user" "$state/prefix/var/lib/mcp-linux-infra/slots/$user"
  done
fi
# The reader needs the journal (and log files readable by adm).
for group in systemd-journal adm; do
  getent group "$group" >/dev/null && accounts usermod -a -G "$group" "$reader"
done

if [ -n "$system" ]; then
  # sudo skips drop-ins whose names contain a dot: keep the tag to letters, digits, - and _.
  tag=${state##*/}
  sudoers_file="/etc/sudoers.d/mcp-infra-test-${tag//[!A-Za-z0-9_-]/_}"
  echo "$sudoers_file" > "$state/sudoers.saved"
  "$repo/system/render-sudoers" "$runner" "$lib/pra-run" "$lib/pra-catalogue.tsv" > "$state/sudoers.candidate"
  visudo -cf "$state/sudoers.candidate" >/dev/null || die "rendered sudoers does not pass visudo"
  # 0444: sudo accepts it, and mcp-wrapper version can hash it (the content is not secret).
  install -m 0444 "$state/sudoers.candidate" "$sudoers_file"
  printf '%s\n' "$sudoers_file" > "$etc/sudoers-file"
fi

from=127.0.0.1
[ "$hosts" -eq 1 ] || from=127.0.0.0/8
printf 'restrict,from="%s",command="exec %s --role=reader" %s\n' "$from" "$reader_command" \
  "$(cat "$state/keys/mcp-reader.pub")" > "$state/authorized_keys/$reader"
printf 'restrict,from="%s",command="exec %s --role=runner" %s\n' "$from" "$runner_command" \
  "$(cat "$state/keys/pra-runner.pub")" > "$state/authorized_keys/$runner"
chmod 0644 "$state/authorized_keys/$reader" "$state/authorized_keys/$runner"

pinned=$(cut -d' ' -f1,2 "$state/hostkeys/ssh_host_ed25519_key.pub")
ready=
# A random port can be taken between the check and sshd's bind: try again on another one.
for attempt in 1 2 3 4 5; do
pick_port
cat > "$state/sshd_config" <<CONF
Port $port
$(if [ "$hosts" -eq 1 ] || [ "$listen" = 0.0.0.0 ]; then echo "ListenAddress $listen"; else for i in $(seq "$hosts"); do echo "ListenAddress 127.0.0.$i"; done; fi)
HostKey $state/hostkeys/ssh_host_ed25519_key
HostKey $state/hostkeys/ssh_host_ecdsa_key
PidFile $state/sshd.pid
AuthorizedKeysFile $state/authorized_keys/%u
AllowUsers $reader $runner
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PermitUserEnvironment no
AllowTcpForwarding no
X11Forwarding no
StrictModes yes
LogLevel DEBUG1
MaxStartups 100:30:200
$(if [ "${#sshd_lines[@]}" -gt 0 ]; then printf '%s\n' "${sshd_lines[@]}"; fi)
CONF
/usr/sbin/sshd -t -f "$state/sshd_config"
setsid /usr/sbin/sshd -f "$state/sshd_config" -D -E "$state/sshd.log" < /dev/null > /dev/null 2>&1 &
echo $! > "$state/sshd.pid.saved"

sshd_pid=$!
for _ in $(seq 100); do
  if ssh-keyscan -T 1 -p "$port" -t ed25519 127.0.0.1 2>/dev/null | grep -qF "$pinned"; then ready=1; break; fi
  kill -0 "$sshd_pid" 2>/dev/null || break
  sleep 0.05
done
[ -z "$ready" ] || break
kill -KILL "$sshd_pid" 2>/dev/null || true
echo "loopback-target: sshd did not start on port $port (attempt $attempt)" >&2
done
[ -n "$ready" ] || { cat "$state/sshd.log" >&2 || true; die "sshd did not answer on 127.0.0.1:$port"; }

echo "[127.0.0.1]:$port $pinned" > "$state/known_hosts"
cat > "$state/inventory.yml" <<INV
all:
  hosts:
    loopback:
      ansible_host: 127.0.0.1
      ansible_port: $port
INV
if [ -n "$system" ]; then
  {
    printf '      mcp_allowed_containers: [web]\n      mcp_http_checks: ["http://127.0.0.1/"]\n      mcp_ping_targets: [127.0.0.1]\n'
    printf '      mcp_approvers:\n'
    for approver in alice bob; do
      printf '        - principal: %s@loopback\n          key: "%s"\n' "$approver" "$(cut -d' ' -f1,2 "$state/approvers/$approver.pub")"
    done
  } >> "$state/inventory.yml"
fi
if [ "$hosts" -gt 1 ]; then
  printf '  children:\n    fleet:\n      hosts:\n' >> "$state/inventory.yml"
  for i in $(seq "$hosts"); do
    printf '        h%s:\n          ansible_host: 127.0.0.%s\n          ansible_port: %s\n' "$i" "$i" "$port" >> "$state/inventory.yml"
    [ "$i" -eq 1 ] || echo "[127.0.0.$i]:$port $pinned" >> "$state/known_hosts"
  done
fi
cat > "$state/linux-mcp.env" <<ENV
LINUX_MCP_INVENTORY=$state/inventory.yml
LINUX_MCP_KNOWN_HOSTS=$state/known_hosts
LINUX_MCP_CATALOGUE=$(cd "$here/../.." && pwd)/system/pra-catalogue.tsv
LINUX_MCP_DB=$state/state/state.sqlite3
LINUX_MCP_READER_USER=$reader
LINUX_MCP_READER_KEY=$state/keys/mcp-reader
LINUX_MCP_RUNNER_USER=$runner
LINUX_MCP_RUNNER_KEY=$state/keys/pra-runner
LINUX_MCP_SSH_AGENT=none
ENV
cat > "$state/target.state" <<STATE
port=$port
sshd_pid=$(cat "$state/sshd.pid.saved")
reader=$reader
runner=$runner
STATE
up_done=1
echo "loopback target up: 127.0.0.1:$port, accounts $reader and $runner, settings in $state/linux-mcp.env"

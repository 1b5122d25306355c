#!/bin/bash
# The target side of bench/wrapper-bench.sh: runs *on* a role-deployed target, as root, from
# /run/wrapper-bench. Usage: bash wrapper-bench-target.sh ITERATIONS
#
# Each case is a request and the bare tool it stands for. Both are started exactly as sshd starts a forced
# command: a fresh process with sshd's small environment (USER LOGNAME HOME SHELL PATH MAIL, SSH_CONNECTION,
# SSH_CLIENT, and SSH_ORIGINAL_COMMAND for the wrapper), the account's shell running
#   /bin/sh -c "exec PREFIX/lib/mcp-linux-infra/mcp-wrapper --role=reader"      (the wrapper)
#   /bin/sh -c "exec TOOL ARGS..."                                             (the bare tool)
# as the account (mcp-reader, pra-runner; pra-run as root with sudo's environment), stdout and stderr to
# /dev/null. The timing loop itself runs as that account, alternating wrapper and bare each iteration, and
# reads $EPOCHREALTIME around each process. Prints, per case, the medians, the overhead (wrapper - bare), the
# goal (<= 5 ms) met or missed, and the processes each request starts (the pid counter of the target's pid
# namespace, before and after). Then a per-step breakdown of the wrapper: bash xtrace stamped with
# $EPOCHREALTIME (each step is charged the time until the next traced line; tracing itself adds a little).
set -eu
export LC_ALL=C
readonly GOAL_US=5000
bench=/run/wrapper-bench
lib=/usr/local/lib/mcp-linux-infra
extra=$bench/extra

median() { # median of the numbers on stdin
  sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print 0; exit } print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# --- Loop mode: runs as the account --------------------------------------------------------------------
# loop OUT ITERATIONS STDIN ENVFILE WRAPPER_COMMAND -- BARE ARGV...: writes "wrapper_us bare_us wrapper_procs
# bare_procs wrapper_rc bare_rc" per iteration to OUT. ENVFILE holds the environment, one NAME=VALUE a line.
loop() {
  local out=$1 n=$2 input=$3 envfile=$4 command=$5 i t0 t1 t2 p0 p1 p2 rc1 rc2 _
  shift 6
  local bare="exec $*"
  local -a environment
  mapfile -t environment < "$envfile"
  : > "$out"
  for ((i = 0; i < n; i++)); do
    read -r _ _ _ _ p0 < /proc/loadavg
    t0=$EPOCHREALTIME
    rc1=0; env -i "${environment[@]}" /bin/sh -c "$command" < "$input" > /dev/null 2>&1 || rc1=$?
    t1=$EPOCHREALTIME
    read -r _ _ _ _ p1 < /proc/loadavg
    rc2=0; env -i "${environment[@]/#SSH_ORIGINAL_COMMAND=*/SSH_ORIGINAL_COMMAND=}" /bin/sh -c "$bare" < "$input" > /dev/null 2>&1 || rc2=$?
    t2=$EPOCHREALTIME
    read -r _ _ _ _ p2 < /proc/loadavg
    echo "$(( ${t1/./} - ${t0/./} )) $(( ${t2/./} - ${t1/./} )) $(( ${p1##*/} - ${p0##*/} - 1 )) $(( ${p2##*/} - ${p1##*/} - 1 )) $rc1 $rc2" >> "$out"
  done
}
# trace OUT RUNS STDIN ENVFILE SCRIPT ROLE: runs SCRIPT RUNS times under xtrace, one trace file per run
# (OUT.N), with the launch time on its first line and the end time on its last.
trace() {
  local out=$1 n=$2 input=$3 envfile=$4 script=$5 role=$6 i t0
  local -a environment
  mapfile -t environment < "$envfile"
  for ((i = 0; i < n; i++)); do
    t0=$EPOCHREALTIME
    # shellcheck disable=SC2016 # expanded by the traced bash
    env -i "${environment[@]}" "TRACE_FILE=$out.raw" /bin/bash -p -c 'exec 9>> "$TRACE_FILE"; BASH_XTRACEFD=9; PS4="+ \$EPOCHREALTIME "; set -x; . "$0" "$@"' \
      "$script" "$role" < "$input" > /dev/null 2>&1 || true
    { echo "launch $t0"; cat "$out.raw"; echo "end $EPOCHREALTIME"; } > "$out.$i"
    rm -f "$out.raw"
  done
}
if [ "${1-}" = --loop ]; then shift; loop "$@"; exit 0; fi
if [ "${1-}" = --trace ]; then shift; trace "$@"; exit 0; fi

# --- Root mode -----------------------------------------------------------------------------------------
iterations=${1:-100}
[[ $iterations =~ ^[1-9][0-9]{0,4}$ ]] || { echo "usage: $0 ITERATIONS" >&2; exit 64; }
runs=$(( iterations < 20 ? iterations : 20 ))
results=$bench/results
rm -rf -- "$results"
install -d -m 0777 "$results"
printf '' > "$bench/empty"
printf 'id=bench-1\n' > "$bench/pra-run.stdin"
chmod 0644 "$bench/empty" "$bench/pra-run.stdin"

# environment ACCOUNT REQUEST: an environment file as sshd gives the account's forced command.
environment() {
  local account=$1 file=$results/env.$1.$RANDOM home
  home=$(getent passwd "$account" | cut -d: -f6)
  {
    echo "USER=$account"; echo "LOGNAME=$account"; echo "HOME=$home"; echo "SHELL=/bin/sh"
    echo "PATH=/usr/local/bin:/usr/bin:/bin:/usr/games"; echo "MAIL=/var/mail/$account"
    echo "SSH_CLIENT=10.231.0.1 50000 22"; echo "SSH_CONNECTION=10.231.0.1 50000 10.231.0.2 22"
    echo "SSH_ORIGINAL_COMMAND=$2"
  } > "$file"
  chmod 0644 "$file"
  REPLY=$file
}
# sudo_environment: what sudo (env_reset, secure_path) gives pra-run.
sudo_environment() {
  local file=$results/env.sudo
  {
    echo "HOME=/root"; echo "LOGNAME=root"; echo "USER=root"; echo "SHELL=/bin/bash"; echo "MAIL=/var/mail/root"
    echo "PATH=/usr/sbin:/usr/bin:/sbin:/bin"; echo "SUDO_USER=pra-runner"; echo "SUDO_UID=$(id -u pra-runner)"
    echo "SUDO_GID=$(id -g pra-runner)"; echo "SUDO_COMMAND=$lib/pra-run restart_unbound"
  } > "$file"
  chmod 0644 "$file"
  REPLY=$file
}
as() { # as ACCOUNT COMMAND...: runs COMMAND as ACCOUNT with its groups, the way a login gets them
  local account=$1
  shift
  if [ "$account" = root ]; then "$@"; return; fi
  setpriv --reuid="$account" --regid="$(id -g "$account")" --init-groups -- "$@"
}

cases=()
# case NAME ACCOUNT SCRIPT ROLE STDIN REQUEST -- BARE...: one row of the table.
add_case() { cases+=("$*"); }
components=("$lib/mcp-wrapper" "$lib/pra-exec" "$lib/pra-run" "$lib/target-common.sh" "$lib/pra-catalogue.tsv" /etc/sudoers.d/mcp-linux-infra)
# reader_cases SUFFIX WRAPPER: the reader's rows, for the installed wrapper and for a compiled prototype.
reader_cases() {
  local suffix=$1 wrapper=$2
  add_case "memory$suffix" mcp-reader "$wrapper" --role=reader empty "memory" -- cat -- /proc/meminfo
  add_case "version$suffix" mcp-reader "$wrapper" --role=reader empty "version" -- sha256sum -- "${components[@]}"
  add_case "disks$suffix" mcp-reader "$wrapper" --role=reader empty "disks" -- df -P -B1 -T -x tmpfs -x devtmpfs -x squashfs -x overlay
  add_case "unit-status$suffix" mcp-reader "$wrapper" --role=reader empty "unit-status unit=unbound.service" -- systemctl status --no-pager --lines=0 -- unbound.service
  add_case "journal$suffix" mcp-reader "$wrapper" --role=reader empty "journal unit=unbound.service lines=50" -- journalctl --no-pager --quiet --output=short-iso --lines=50 --unit=unbound.service
  add_case "refused$suffix" mcp-reader "$wrapper" --role=reader empty "memory x=1" -- true
}
# pra_cases SUFFIX LIB: pra-exec's and pra-run's rows.
pra_cases() {
  local suffix=$1 dir=$2
  add_case "pra-exec-version$suffix" pra-runner "$dir/pra-exec" --role=runner empty "version" -- sha256sum -- "${components[@]}"
  add_case "pra-exec-unsigned$suffix" pra-runner "$dir/pra-exec" --role=runner empty "restart_unbound id=bench-1" -- true
  add_case "pra-run-unsigned$suffix" root "$dir/pra-run" restart_unbound pra-run.stdin "" -- true
}
# baseline: the scripts of another revision (wrapper-bench.sh --baseline REV), installed beside the role's
# under /opt/mcp-baseline with the same settings and their own request slots: rows NAME-base, timed in the
# same run as the installed scripts, so both see the same load.
baseline=/opt/mcp-baseline
if [ -f "$bench/baseline/mcp-wrapper" ]; then
  rm -rf -- "$baseline"
  install -d -m 0755 "$baseline/lib/mcp-linux-infra" "$baseline/etc" "$baseline/var/lib/mcp-linux-infra/slots"
  for file in mcp-wrapper pra-exec pra-run; do install -m 0755 "$bench/baseline/$file" "$baseline/lib/mcp-linux-infra/$file"; done
  for file in target-common.sh pra-catalogue.tsv; do install -m 0644 "$bench/baseline/$file" "$baseline/lib/mcp-linux-infra/$file"; done
  cp -a /usr/local/etc/mcp-linux-infra "$baseline/etc/"
  for account in mcp-reader pra-runner; do install -d -m 0700 -o "$account" "$baseline/var/lib/mcp-linux-infra/slots/$account"; done
fi
reader_cases "" "$lib/mcp-wrapper"
if [ -d "$baseline" ]; then reader_cases "-base" "$baseline/lib/mcp-linux-infra/mcp-wrapper"; fi
# The compiled prototype (bench/prototype), when wrapper-bench.sh --prototype built one: rows NAME-c, the same
# requests and bare tools.
if [ -x "$extra/mcp-wrapper" ]; then reader_cases "-c" "$extra/mcp-wrapper"; fi
pra_cases "" "$lib"
if [ -d "$baseline" ]; then pra_cases "-base" "$baseline/lib/mcp-linux-infra"; fi

printf '%s\n' "mcp-wrapper overhead on $HOSTNAME ($(nproc) CPUs), medians of $iterations, target-side, as the account:"
printf '%-18s %10s %10s %10s %6s %6s %5s  %s\n' case wrapper/ms bare/ms overhead procs bare-p rc "goal <= 5 ms"
for entry in "${cases[@]}"; do
  read -r -a words <<< "$entry"
  name=${words[0]} account=${words[1]} script=${words[2]} role=${words[3]} input=$bench/${words[4]}
  rest=("${words[@]:5}")
  request=
  while [ "${rest[0]}" != -- ]; do request+="${request:+ }${rest[0]}"; rest=("${rest[@]:1}"); done
  bare=("${rest[@]:1}")
  if [ "$account" = root ]; then
    sudo_environment; envfile=$REPLY
    command="exec $script $role"
  else
    environment "$account" "$request"; envfile=$REPLY
    command="exec $script $role"
  fi
  out=$results/$name
  as "$account" /bin/bash "$bench/wrapper-bench-target.sh" --loop "$out" "$iterations" "$input" "$envfile" "$command" -- "${bare[@]}"
  w=$(cut -d' ' -f1 "$out" | median); b=$(cut -d' ' -f2 "$out" | median)
  wp=$(cut -d' ' -f3 "$out" | median); bp=$(cut -d' ' -f4 "$out" | median)
  rc=$(cut -d' ' -f5 "$out" | sort -u | paste -s -d, -)
  overhead=$((w - b))
  verdict=missed; [ "$overhead" -gt "$GOAL_US" ] || verdict=met
  printf '%-18s %10s %10s %10s %6s %6s %5s  %s\n' "$name" "$(ms "$w")" "$(ms "$b")" "$(ms "$overhead")" "$wp" "$bp" "$rc" "$verdict"
  echo "$name $script $role $input $envfile $account" >> "$results/traced"
done
echo "(procs: processes started besides the launched one, from the pid counter: 0 for a bare tool; rc: the wrapper's exit codes)"
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); the target shares the host's CPUs)"

echo
echo "Per-step breakdown ($runs traced runs each; ms per request, each step charged until the next traced line):"
while read -r name script role input envfile account; do
  case $name in memory|version|journal|refused|pra-exec-unsigned|pra-run-unsigned) ;; *) continue ;; esac
  as "$account" /bin/bash "$bench/wrapper-bench-target.sh" --trace "$results/trace.$name" "$runs" "$input" "$envfile" "$script" "$role"
  echo "== $name"
  for ((i = 0; i < runs; i++)); do cat "$results/trace.$name.$i"; echo "run-end"; done | awk -v runs="$runs" '
    function flush() {
      if (prev != "") { cost[prev] += t - pt; if (!(prev in order)) { order[prev] = ++n; keys[n] = prev } }
    }
    /^launch / { pt = $2 + 0; prev = "(launch: fork, sh -c, exec bash, read the script)"; next }
    /^end / { t = $2 + 0; flush(); total += t - start; prev = ""; next }
    /^run-end/ { next }
    /^\++ [0-9]+\.[0-9]+ / {
      t = $2 + 0
      if (prev ~ /^\(launch/) start = pt
      flush()
      line = $0; sub(/^\++ [0-9.]+ /, "", line)
      prev = substr(line, 1, 100)
      pt = t
    }
    END {
      for (i = 1; i <= n; i++) printf "%9.3f  %s\n", cost[keys[i]] * 1000 / runs, keys[i] | "sort -rn | head -n 14"
      close("sort -rn | head -n 14")
      printf "%9.3f  total (traced; tracing adds its own cost)\n", total * 1000 / runs
    }'
done < "$results/traced"

#!/bin/bash
# The store bench: proposals, claims and audit rows per second through the store ports (bench/StoreBench), on
# SQLite and on PostgreSQL, one server process and two at once on one store. Prints each process's line, a
# table (two processes summed) and the ratios PostgreSQL/SQLite; after each run the rows of every process are
# loaded through the port and the chain verified ("chain ok, N rows", N = the rows the processes wrote).
#
#   bash bench/store-bench.sh [SECONDS]        (default 10; WORKERS=4 and TOOL_CALLS=4 in the environment)
#
# PostgreSQL is a private cluster of this script's own: initdb into a temporary folder, listening on a unix
# socket in that folder only (no TCP), with the server's default durability (fsync, synchronous_commit on),
# run as the postgres account when root; stopped by its postmaster's PID at exit, the folder removed. The
# "PostgreSQL async" rows run on a database with synchronous_commit=off: a commit is not flushed to disk before
# it returns, SQLite's durability in WAL mode with synchronous=NORMAL, which the SQLite store uses. The SQLite
# files are in the same folder (same file system). Not run by CI: numbers vary with the machine.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-10}
workers=${WORKERS:-4}
tool_calls=${TOOL_CALLS:-4}
[ -d /opt/swift/usr/bin ] && PATH=/opt/swift/usr/bin:$PATH

pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "store-bench: PostgreSQL server binaries not found: apt-get install postgresql (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

# A release build; into .build-bench when another SwiftPM holds .build (a developer's build must not wait for us).
scratch=.build
if [ -e .build/.lock ] && ! flock -n .build/.lock true; then scratch=.build-bench; fi
swift build -c release --scratch-path "$scratch" --product store-bench 2>&1 | tail -n 1
bench=$scratch/release/store-bench

folder=$(mktemp -d /tmp/store-bench.XXXXXX)
chmod 0700 "$folder"
as_postgres=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$folder"
  as_postgres=(runuser -u postgres --)
fi
postmaster=
children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$postmaster" ] && kill -INT "$postmaster" 2>/dev/null; then
    for _ in $(seq 300); do kill -0 "$postmaster" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$postmaster" 2>/dev/null && kill -KILL "$postmaster"
  fi
  rm -rf -- "$folder"
}
trap cleanup EXIT

"${as_postgres[@]}" "$pg_bin/initdb" -D "$folder/data" -U postgres --auth=trust --no-sync --locale=C -E UTF8 > "$folder/initdb.log"
printf "listen_addresses = ''\nport = 5432\nunix_socket_directories = '%s'\n" "$folder" >> "$folder/data/postgresql.conf"
"${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 start > /dev/null
postmaster=$(head -n 1 "$folder/data/postmaster.pid")
psql() { "$pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$folder" -U postgres "$@"; }
mkdir -m 0700 "$folder/sqlite"

# A fresh store per run: its option for store-bench.
store_of() { # BACKEND NAME
  if [ "$1" = sqlite ]; then
    echo "--sqlite=$folder/sqlite/$2.db"
  else
    psql -d postgres -c "CREATE DATABASE $2"
    # SQLite's own durability (WAL, synchronous=NORMAL: a commit is not flushed, a crash may lose the last ones).
    [ "$1" = postgresql-async ] && psql -d postgres -c "ALTER DATABASE $2 SET synchronous_commit = off"
    echo "--postgres=postgres://postgres@/$2?host=$folder"
  fi
}

# Runs N processes at once on one fresh store (they start their clocks together), prints their lines, verifies
# the chain, and sets `result` to: proposals/s claims/s audit-rows/s (summed) and the processes' p50/p99.
run() { # BACKEND N NAME
  local store; store=$(store_of "$1" "$3")
  # Created and migrated once before the processes start: two processes opening a fresh SQLite file at once
  # race on its migration (one fails with "table proposal already exists").
  "$bench" "$store" --verify --expect-rows 0 > /dev/null
  local start=$(( $(date +%s) + 3 )) index
  children=()
  for index in $(seq "$2"); do
    "$bench" "$store" --seconds "$seconds" --workers "$workers" --tool-calls "$tool_calls" --servers "$2" --start-at "$start" \
      > "$folder/$3.$index.out" 2> "$folder/$3.$index.err" &
    children+=($!)
  done
  for index in $(seq "$2"); do
    if ! wait "${children[$((index - 1))]}"; then
      echo "store-bench: process $index of $3 failed:" >&2
      tail -n 20 "$folder/$3.$index.err" >&2
      exit 1
    fi
  done
  children=()
  cat "$folder/$3".*.out
  result=$(cat "$folder/$3".*.out | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] }
      latency = latency (NR > 1 ? " + " : "") $NF; sub(/\)$/, "", latency) }
    END { printf "%.1f %.1f %.1f %d %s", v["proposals/s"], v["claims/s"], v["audit-rows/s"], v["rows"], latency }')
  "$bench" "$store" --verify --expect-rows "$(echo "$result" | cut -d' ' -f4)"
}

echo "store-bench: $(nproc) cores, $("$pg_bin/postgres" --version), $seconds s per run, $workers workers per process, $tool_calls tool-call rows per action"
run sqlite 1 sqlite1; sqlite1=$result
run sqlite 2 sqlite2; sqlite2=$result
run postgresql 1 pg1; pg1=$result
run postgresql 2 pg2; pg2=$result
run postgresql-async 1 pgasync1; pgasync1=$result
run postgresql-async 2 pgasync2; pgasync2=$result

echo
printf '%-24s %12s %10s %14s   %s\n' "store" "proposals/s" "claims/s" "audit-rows/s" "update p50/p99 ms (per process)"
for row in "SQLite, 1 server|$sqlite1" "SQLite, 2 servers|$sqlite2" "PostgreSQL, 1 server|$pg1" "PostgreSQL, 2 servers|$pg2" \
    "PostgreSQL async, 1|$pgasync1" "PostgreSQL async, 2|$pgasync2"; do
  IFS='|' read -r label values <<< "$row"
  read -r proposals claims rows _ latency <<< "$values"
  printf '%-24s %12s %10s %14s   %s\n' "$label" "$proposals" "$claims" "$rows" "$latency"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "PostgreSQL/SQLite (proposals/s): 1 server $(ratio "${pg1%% *}" "${sqlite1%% *}"), 2 servers $(ratio "${pg2%% *}" "${sqlite2%% *}");" \
  "with synchronous_commit=off: 1 server $(ratio "${pgasync1%% *}" "${sqlite1%% *}"), 2 servers $(ratio "${pgasync2%% *}" "${sqlite2%% *}")"

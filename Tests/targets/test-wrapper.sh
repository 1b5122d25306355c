#!/bin/sh
# Test-only forced command for the loopback target (never installed on real hosts).
# Grammar: one verb and at most two tokens of [A-Za-z0-9._-]; anything else is refused with exit 64.
# It lets the SSH-core tests produce exit codes, signals, floods, sleeps and stdin echoes on demand.
set -eu

role=unknown
case "${1-}" in
  --role=reader) role=reader ;;
  --role=runner) role=runner ;;
esac

request=${SSH_ORIGINAL_COMMAND-}
case "$request" in
  *[!A-Za-z0-9._\ -]*) echo "test-wrapper: refused: character outside the grammar" >&2; exit 64 ;;
esac

# Split on spaces into at most three words without any shell evaluation of the request.
set -f
# shellcheck disable=SC2086 # splitting the checked request into words is the point here
set -- $request
set +f
if [ "$#" -lt 1 ] || [ "$#" -gt 3 ]; then echo "test-wrapper: refused: expected VERB [ARG [ARG]]" >&2; exit 64; fi
verb=$1
shift

number() {
  case "$1" in
    ''|*[!0-9]*) echo "test-wrapper: refused: '$1' is not a number" >&2; exit 64 ;;
  esac
}

case "$verb" in
  version) echo "test-wrapper 1 role=$role user=$(id -un)" ;;
  echo) [ "$#" -eq 1 ] || exit 64; printf '%s\n' "$1" ;;
  exit) [ "$#" -eq 1 ] || exit 64; number "$1"; exit "$1" ;;
  signal)
    [ "$#" -eq 1 ] || exit 64
    case "$1" in TERM|KILL|HUP|INT|USR1) kill -s "$1" $$ ;; *) exit 64 ;; esac
    sleep 5 ;;
  sleep) [ "$#" -eq 1 ] || exit 64; number "$1"; exec sleep "$1" ;;
  flood)
    # Write N bytes to stdout and M bytes to stderr at the same time.
    [ "$#" -eq 2 ] || exit 64; number "$1"; number "$2"
    head -c "$2" /dev/zero | tr '\0' 'e' >&2 &
    head -c "$1" /dev/zero | tr '\0' 'o'
    wait ;;
  stdin-bytes) wc -c | tr -d ' ' ;;
  *) echo "test-wrapper: refused: unknown verb" >&2; exit 64 ;;
esac

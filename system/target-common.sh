# shellcheck shell=bash disable=SC2034
# The target side's common script: shared by mcp-wrapper, pra-exec and pra-run (sourced from their own
# root-owned directory; never run).
# Install layout: PREFIX/lib/mcp-linux-infra/{mcp-wrapper,pra-exec,pra-run,target-common.sh,pra-catalogue.tsv}
# and PREFIX/etc/mcp-linux-infra/ for host settings (allowed-services, allowed-containers, http-checks,
# ping-targets, log-roots, du-roots, log-socket, ...).

readonly PRA_VERSION=1.0.0
# Exit codes, the same on every script. Sources/InfraDomain/Target/TargetExitCode.swift mirrors them (a test
# compares the two).
readonly EXIT_REFUSED=64 EXIT_UNKNOWN_ACTION=65 EXIT_BAD_PARAMETER=66 EXIT_PRECONDITION=67
readonly EXIT_ACTION_FAILED=68 EXIT_VERIFY_FAILED=69 EXIT_UNAVAILABLE=70 EXIT_NOT_PERMITTED=77 EXIT_AUDIT=75
# Refusals of signed approvals (pra-run, as root), one code per reason.
readonly EXIT_UNSIGNED=80 EXIT_APPROVAL_MALFORMED=81 EXIT_SIGNATURE_INVALID=82 EXIT_OTHER_REQUEST=83 EXIT_OTHER_HOST=84
readonly EXIT_OTHER_CATALOGUE=85 EXIT_OUTSIDE_WINDOW=86 EXIT_TOO_FEW_APPROVERS=87 EXIT_REPLAYED=88
readonly EXIT_DIGEST_MISMATCH=89
# Refused because this account already runs as many requests as the host allows; the server retries.
readonly EXIT_BUSY=73
# mcp-wrapper: the command ran out of its time budget (timeout's own code, passed on).
readonly EXIT_TIMED_OUT=124

# Nothing inherited counts. bash -p (the shebang) already ignored BASH_ENV, ENV and exported functions;
# every other exported variable goes too, except what sshd or sudo set for us.
for _name in $(compgen -e); do
  case $_name in
    SSH_ORIGINAL_COMMAND|SSH_CLIENT|SSH_CONNECTION|SUDO_USER|SUDO_UID) ;;
    *) unset "$_name" 2>/dev/null || true ;;
  esac
done
unset _name
IFS=$' \t\n'

lib_dir=${0%/*}
case "$lib_dir" in
  /*/lib/mcp-linux-infra) ;;
  *) echo "${0##*/}: refused: must be installed as PREFIX/lib/mcp-linux-infra/${0##*/} and called by absolute path" >&2; exit "$EXIT_REFUSED" ;;
esac
readonly lib_dir
readonly config_dir="${lib_dir%/lib/mcp-linux-infra}/etc/mcp-linux-infra"
readonly catalogue="$lib_dir/pra-catalogue.tsv"
# The single-use ledger of executed approvals: written by root only (pra-run), readable by the reader verb
# `ledger`. FHS state for the usual prefixes, PREFIX/var/lib otherwise (test targets).
case "${lib_dir%/lib/mcp-linux-infra}" in
  /usr|/usr/local) ledger_dir=/var/lib/mcp-linux-infra/ledger ;;
  *) ledger_dir="${lib_dir%/lib/mcp-linux-infra}/var/lib/mcp-linux-infra/ledger" ;;
esac
readonly ledger_dir
readonly slots_dir="${ledger_dir%/ledger}/slots"
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin

# One printable line, at most 400 characters: control characters become \n-style escapes, so a caller
# cannot forge or split audit lines.
escape() {
  local text=${1:0:400} quoted
  printf -v quoted '%q' "$text"
  printf '%s' "$quoted"
}

# setting NAME: REPLY = the first line of the host setting NAME; returns 1 when there is none. A file
# without a final newline reads the same.
setting() {
  REPLY=
  [ -r "$config_dir/$1" ] || return 1
  IFS= read -r REPLY < "$config_dir/$1" || [ -n "$REPLY" ]
}

# listed SETTING VALUE: true when VALUE is a whole line of the host setting SETTING.
listed() {
  [ -r "$config_dir/$1" ] && grep -qxF -- "$2" "$config_dir/$1"
}

# audit TAG MESSAGE: one line to the journal (or the socket named in log-socket). Fails closed.
audit() {
  local tag=$1 message=$2 socket=
  if setting log-socket; then socket=$REPLY; fi
  if [ -n "$socket" ]; then
    logger -u "$socket" -t "$tag" -p auth.notice -- "$message" 2>/dev/null && return 0
  else
    logger -t "$tag" -p auth.notice -- "$message" 2>/dev/null && return 0
  fi
  echo "$tag: refused: the audit log is unavailable" >&2
  exit "$EXIT_AUDIT"
}

# request_gate TAG ROLE CHARACTERS ARGUMENTS...: the door of a forced command (mcp-wrapper, pra-exec). Sets
# request_tag = TAG (the tag of refuse's audit lines and the name in its messages), user, client (the caller's
# address) and request (SSH_ORIGINAL_COMMAND as sent); then refuses with EXIT_REFUSED unless ARGUMENTS is
# exactly --role=ROLE and the request is 1 to 1024 bytes, each one of CHARACTERS (the inside of a bracket
# expression, given by the calling script), in words separated by single spaces. words = the request's words.
request_gate() {
  local role=$2 characters=$3
  request_tag=$1
  shift 3
  user=$(id -un)
  client=${SSH_CLIENT-}
  client=${client%% *}
  request=${SSH_ORIGINAL_COMMAND-}
  if [ "$#" -ne 1 ] || [ "$1" != "--role=$role" ]; then
    refuse "$EXIT_REFUSED" "$request_tag must be the forced command of the $role key (--role=$role)"
  fi
  [ -n "$request" ] || refuse "$EXIT_REFUSED" "empty request"
  [ "${#request}" -le 1024 ] || refuse "$EXIT_REFUSED" "request longer than 1024 bytes"
  case "$request" in
    *[!$characters]*) refuse "$EXIT_REFUSED" "character outside the grammar" ;;
    " "*|*" "|*"  "*) refuse "$EXIT_REFUSED" "words are separated by single spaces" ;;
  esac
  read -r -a words <<< "$request"
}

# refuse CODE REASON: the refusal of a request that came through request_gate: one audit line with the caller,
# the reason and the request, the reason on stderr, exit CODE. (pra-run, which serves no SSH request, has its own.)
refuse() {
  local code=$1 reason=$2
  audit "$request_tag" "refused user=$user client=${client:-local} reason=$(escape "$reason") request=$(escape "$request")"
  echo "$request_tag: refused: $reason" >&2
  exit "$code"
}

# catalogue_lookup NAME: sets c_impact c_params c_run c_verify c_idempotent; returns 1 when unknown.
catalogue_lookup() {
  local name impact params run verify idempotent description
  while IFS=$'\t' read -r name impact params run verify idempotent description || [ -n "$name" ]; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ "$name" = "$1" ]; then
      c_impact=$impact c_params=$params c_run=$run c_verify=$verify c_idempotent=$idempotent
      : "$description"
      return 0
    fi
  done < "$catalogue"
  return 1
}

# approval_digest ACTION HOST CATALOGUE: REPLY = "sha256:" and the lowercase hex SHA-256 of the canonical
# request (ACTION, this HOST's inventory name, the CATALOGUE's "sha256:HEX", and the parameters in the
# associative array `given`), and digest_text = that canonical text. It is byte for byte the server's
# ApprovalDigest.canonical: every value prefixed by its length in bytes (LC_ALL=C), parameters sorted by name:
#   mcp-linux-infra approval v1 / action LEN:ACTION / host LEN:HOST / catalogue LEN:CATALOGUE /
#   param LEN:NAME LEN:VALUE (one line per parameter), each line ending in a newline.
approval_digest() {
  local name sum
  local -a names=()
  digest_text="mcp-linux-infra approval v1"$'\n'"action ${#1}:$1"$'\n'"host ${#2}:$2"$'\n'"catalogue ${#3}:$3"$'\n'
  if [ "${#given[@]}" -gt 0 ]; then mapfile -t names < <(printf '%s\n' "${!given[@]}" | sort); fi
  for name in "${names[@]}"; do
    digest_text+="param ${#name}:$name ${#given[$name]}:${given[$name]}"$'\n'
  done
  sum=$(printf '%s' "$digest_text" | sha256sum)
  REPLY="sha256:${sum%% *}"
}

# validate_parameters: checks the associative array `given` against c_params. Prints the problem and
# returns 1 on the first one. Every declared parameter is required; no other is accepted.
validate_parameters() {
  local -A declared=()
  local spec name type regex rest key
  if [ "$c_params" != "-" ]; then
    local IFS=';'
    for spec in $c_params; do
      name=${spec%%:*}; rest=${spec#*:}; type=${rest%%:*}; regex=${rest#*:}
      declared[$name]=1
      if [ -z "${given[$name]+set}" ]; then echo "missing parameter $name"; return 1; fi
      if ! [[ ${given[$name]} =~ $regex ]]; then echo "parameter $name does not match $regex"; return 1; fi
      if [ "$type" = allowed-service ] && ! listed allowed-services "${given[$name]}"; then
        echo "parameter $name: ${given[$name]} is not in this host's allowed services"; return 1
      fi
      if [ "$type" = allowed-container ] && ! listed allowed-containers "${given[$name]}"; then
        echo "parameter $name: ${given[$name]} is not in this host's allowed containers"; return 1
      fi
    done
  fi
  for key in "${!given[@]}"; do
    if [ -z "${declared[$key]+set}" ]; then echo "unknown parameter $key"; return 1; fi
  done
  return 0
}

# take_slot: holds one of this account's request slots (PREFIX state/slots/USER/N, made by the role, owned by
# the account) for the rest of this process, with flock. At most `max-requests` (a host setting; default
# 4 per CPU) requests of one account run at once; one more is refused at once with EXIT_BUSY, never queued.
take_slot() {
  local account max dir slot fd opened
  account=$(id -un)
  max=$(( 4 * $(nproc) ))
  if setting max-requests && [[ $REPLY =~ ^[0-9]{1,4}$ ]] && [ "$((10#$REPLY))" -gt 0 ]; then max=$((10#$REPLY)); fi
  dir=$slots_dir/$account
  if ! [ -d "$dir" ] || ! [ -O "$dir" ]; then refuse "$EXIT_UNAVAILABLE" "no request slots at $dir for $account (redeploy the role)"; fi
  opened=0
  for ((slot = 1; slot <= max; slot++)); do
    { exec {fd}>> "$dir/$slot"; } 2> /dev/null || continue
    opened=$((opened + 1))
    if flock -n "$fd"; then return 0; fi
    exec {fd}>&-
  done
  if [ "$opened" -eq 0 ]; then refuse "$EXIT_UNAVAILABLE" "no request slot at $dir opens for $account (redeploy the role)"; fi
  refuse "$EXIT_BUSY" "busy: $max requests of $account already run on this host (max-requests); try again shortly"
}

# sha256_line PATH: "sha256 HEX PATH", or "sha256 unreadable PATH".
sha256_line() {
  local sum
  if sum=$(sha256sum -- "$1" 2>/dev/null); then
    printf 'sha256 %s %s\n' "${sum%% *}" "$1"
  else
    printf 'sha256 unreadable %s\n' "$1"
  fi
}

# components: every installed file whose drift the server should detect.
components() {
  local file
  for file in mcp-wrapper pra-exec pra-run target-common.sh pra-catalogue.tsv; do
    sha256_line "$lib_dir/$file"
  done
  local sudoers=/etc/sudoers.d/mcp-linux-infra
  if setting sudoers-file; then sudoers=$REPLY; fi
  sha256_line "$sudoers"
}

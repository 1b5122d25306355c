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
# every other exported variable goes too, except what sshd or sudo set for us. The shell's variables are listed
# by their first character and the exported ones picked by their attributes: what `compgen -e` lists, without
# the process its $(...) would cost. (Names bash cannot hold never reach a tool either: each runs under env -i.)
for _name in ${!A@} ${!B@} ${!C@} ${!D@} ${!E@} ${!F@} ${!G@} ${!H@} ${!I@} ${!J@} ${!K@} ${!L@} ${!M@} ${!N@} \
    ${!O@} ${!P@} ${!Q@} ${!R@} ${!S@} ${!T@} ${!U@} ${!V@} ${!W@} ${!X@} ${!Y@} ${!Z@} ${!_@} ${!a@} ${!b@} ${!c@} \
    ${!d@} ${!e@} ${!f@} ${!g@} ${!h@} ${!i@} ${!j@} ${!k@} ${!l@} ${!m@} ${!n@} ${!o@} ${!p@} ${!q@} ${!r@} ${!s@} \
    ${!t@} ${!u@} ${!v@} ${!w@} ${!x@} ${!y@} ${!z@}; do
  [[ -v $_name && ${!_name@a} == *x* ]] || continue
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

# escape TEXT: REPLY = TEXT as one printable line, at most 400 characters: control characters become
# \n-style escapes, so a caller cannot forge or split audit lines. (In this shell: no $(...) process.)
escape() {
  printf -v REPLY '%q' "${1:0:400}"
}

# account_name: REPLY = the name of the account this runs as, as `id -un` prints it. bash's own \u (getpwuid of
# the real uid, looked up once by the shell) when the real and effective uids agree, as they do under sshd and
# sudo; `id -un` otherwise, or when the shell found no name.
account_name() {
  local prompt='\u'
  REPLY=${prompt@P}
  if [ "$UID" != "$EUID" ] || [ -z "$REPLY" ] || [ "$REPLY" = "I have no name!" ]; then REPLY=$(id -un); fi
}

# cpu_count: REPLY = the CPUs this process may run on and that are online, as `nproc` counts them. Not read
# from Cpus_allowed_list in /proc/self/status: that mask also holds offline CPUs (SMT turned off, say), which
# would loosen the request cap. It runs only when the host has no max-requests setting.
cpu_count() {
  REPLY=$(nproc)
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
  account_name
  user=$REPLY
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
  local code=$1 reason=$2 escaped_reason
  escape "$reason"; escaped_reason=$REPLY
  escape "$request"
  audit "$request_tag" "refused user=$user client=${client:-local} reason=$escaped_reason request=$REPLY"
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

# validate_parameters: checks the associative array `given` against c_params. Sets REPLY to the problem and
# returns 1 on the first one. Every declared parameter is required; no other is accepted. Runs in the caller's
# shell (no $(...) process); it changes nothing but REPLY and BASH_REMATCH.
validate_parameters() {
  local -A declared=()
  local spec name type regex rest key
  if [ "$c_params" != "-" ]; then
    local IFS=';'
    for spec in $c_params; do
      name=${spec%%:*}; rest=${spec#*:}; type=${rest%%:*}; regex=${rest#*:}
      declared[$name]=1
      if [ -z "${given[$name]+set}" ]; then REPLY="missing parameter $name"; return 1; fi
      if ! [[ ${given[$name]} =~ $regex ]]; then REPLY="parameter $name does not match $regex"; return 1; fi
      if [ "$type" = allowed-service ] && ! listed allowed-services "${given[$name]}"; then
        REPLY="parameter $name: ${given[$name]} is not in this host's allowed services"; return 1
      fi
      if [ "$type" = allowed-container ] && ! listed allowed-containers "${given[$name]}"; then
        REPLY="parameter $name: ${given[$name]} is not in this host's allowed containers"; return 1
      fi
    done
  fi
  for key in "${!given[@]}"; do
    if [ -z "${declared[$key]+set}" ]; then REPLY="unknown parameter $key"; return 1; fi
  done
  return 0
}

# take_slot: holds one of this account's request slots (PREFIX state/slots/USER/N, made by the role, owned by
# the account) for the rest of this process, with flock. At most `max-requests` (a host setting; default
# 4 per CPU) requests of one account run at once; one more is refused at once with EXIT_BUSY, never queued.
take_slot() {
  local account max dir slot fd opened
  account_name
  account=$REPLY
  if setting max-requests && [[ $REPLY =~ ^[0-9]{1,4}$ ]] && [ "$((10#$REPLY))" -gt 0 ]; then
    max=$((10#$REPLY))
  else
    cpu_count
    max=$((4 * REPLY))
  fi
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

# components: every installed file whose drift the server should detect, one sha256_line each. One sha256sum
# reads every readable file; a file it did not answer for in the plain "HEX  PATH" form gets its own
# sha256_line, so the lines are those of one sha256_line per file.
components() {
  local file line sums
  local sudoers=/etc/sudoers.d/mcp-linux-infra
  if setting sudoers-file; then sudoers=$REPLY; fi
  local -a files=("$lib_dir/mcp-wrapper" "$lib_dir/pra-exec" "$lib_dir/pra-run" "$lib_dir/target-common.sh"
                  "$lib_dir/pra-catalogue.tsv" "$sudoers") readable=()
  local -A sum=()
  for file in "${files[@]}"; do if [ -r "$file" ]; then readable+=("$file"); fi; done
  if [ "${#readable[@]}" -gt 0 ]; then
    sums=$(sha256sum -- "${readable[@]}" 2>/dev/null) || true
    while IFS= read -r line; do
      if [[ $line =~ ^([0-9a-f]{64})\ [\ *](.+)$ ]]; then sum[${BASH_REMATCH[2]}]=${BASH_REMATCH[1]}; fi
    done <<< "$sums"
  fi
  for file in "${files[@]}"; do
    if ! [ -r "$file" ]; then printf 'sha256 unreadable %s\n' "$file"
    elif [ -n "${sum[$file]+set}" ]; then printf 'sha256 %s %s\n' "${sum[$file]}" "$file"
    else sha256_line "$file"
    fi
  done
}

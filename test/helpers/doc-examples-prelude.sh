# Sourced before a document's examples (test/helpers/doc-examples.ts). `curl` keeps each
# answer's status and body for the stated-status checks; `npx` runs only this checkout's
# `gatehouse` command, never a download (the registry's "gatehouse" is another project), and
# refuses a password prompt nobody would answer; `npm` is not run at all.
__W="$PWD/.examples"
mkdir -p "$__W"
__STATEMENT=0
__at() {
  __STATEMENT=$1
  printf '%s\n' "$1" > "$__W/current"
  rm -f "$__W/status" "$__W/body"
}
__failed() { printf '%s\t%s\t%s\n' "$__STATEMENT" "$1" "$2" >> "$__W/failures"; }
trap '__failed "$?" "$BASH_COMMAND"' ERR
# After every command: `a && b` that stops at a failing `a` does not end a `set -e` shell.
__done() {
  if [ "$1" -ne 0 ]; then
    __failed "$1" "a command list (&&, ||) that ended with this status"
    exit "$1"
  fi
}
__expect() {
  local got=none
  if [ -f "$__W/status" ]; then got=$(cat "$__W/status"); fi
  if [ -f "$__W/body" ]; then cp "$__W/body" "$__W/body.$1"; fi
  printf '%s\t%s\n' "$1" "$got" >> "$__W/answers"
  if [ "$got" != "$2" ]; then exit 86; fi
}
curl() {
  local rc=0
  command curl --dump-header "$__W/headers" "$@" > "$__W/body" || rc=$?
  cat "$__W/body"
  # Recorded here, where the arguments are known: the caller's trap would see only this function.
  if [ "$rc" -ne 0 ]; then __failed "$rc" "curl $*"; fi
  if [ -f "$__W/headers" ]; then
    sed -n 's#^HTTP/[0-9.]* \([0-9][0-9][0-9]\).*#\1#p' "$__W/headers" | tail -n 1 > "$__W/status"
    rm -f "$__W/headers"
  fi
  return "$rc"
}
npx() {
  if [ "${1-}" != gatehouse ]; then
    echo "the docs test runs 'npx gatehouse …' only, never a download: npx $*" >&2
    return 127
  fi
  case "${2-} ${3-}" in
    'user create' | 'user set-password')
      if [ ! -p /dev/stdin ] && [ ! -f /dev/stdin ]; then
        echo "'npx $*' would ask for a password on a terminal: pipe it in (printf '%s\n' … |), or fence the block as console" >&2
        return 64
      fi
      ;;
  esac
  command npx --no-install "$@"
}
npm() {
  echo "npm commands are not run by the docs test (npm $*): fence the block as console" >&2
  return 127
}

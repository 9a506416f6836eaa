#!/usr/bin/env bash
# The .deb, as a user installs it: built by CPack from this build, installed
# with dpkg, every shipped file checked for what it is meant to do (the
# binary runs, the man page renders, the completion completes, the unit
# verifies and scores as hardened, the binary traces under exactly the unit's
# capabilities as a non-root user), then purged without a trace.
# usage: package_test.sh BUILD_DIR WORK_DIR
set -euo pipefail
BUILD=$1 WORK=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK"
if dpkg-query -W -f='${Status}' tracer 2>/dev/null | grep -q "install ok installed"; then
  fail "a tracer package is installed on this machine already; this test installs and purges its own"
fi

cpack -G DEB -B "$WORK" --config "$BUILD/CPackConfig.cmake" > "$WORK/cpack.log" 2>&1 || { cat "$WORK/cpack.log"; fail "cpack"; }
deb=$(ls "$WORK"/tracer_*.deb)
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"
dpkg-deb -I "$deb" | grep -E "^ (Depends|Recommends|Section|Version):" || true
# The libraries loaded at run time are named too (dpkg-shlibdeps cannot see them).
dpkg-deb -f "$deb" Depends | grep -q "libsystemd0" || fail "Depends lacks libsystemd0"
dpkg-deb -f "$deb" Recommends | grep -q "libmicrohttpd12" || fail "Recommends lacks libmicrohttpd12"
dpkg-deb -f "$deb" Recommends | grep -q "libnats3.4" || fail "Recommends lacks libnats3.4"
listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/sbin/tracer ./lib/systemd/system/tracer.service ./etc/tracer/config.json ./etc/logrotate.d/tracer \
            ./usr/share/man/man8/tracer.8.gz ./usr/share/bash-completion/completions/tracer \
            ./usr/share/doc/tracer/README.md; do
  grep -qx "$path" <<< "$listing" || fail "$path is not in the package"
done
grep -qx /etc/tracer/config.json <<< "$(dpkg-deb -I "$deb" conffiles)" || fail "config.json is not a conffile"

cleanup() { dpkg -P tracer > /dev/null 2>&1 || true; }
trap cleanup EXIT
dpkg -i "$deb" > "$WORK/dpkg-install.log" 2>&1 || { cat "$WORK/dpkg-install.log"; fail "dpkg -i"; }
[ "$(/usr/sbin/tracer --version)" = "tracer $(dpkg-query -W -f='${Version}' tracer)" ] || fail "tracer --version"

# The man page renders without warnings.
MANWIDTH=80 man --warnings -l /usr/share/man/man8/tracer.8.gz > "$WORK/man.txt" 2> "$WORK/man.err"
[ ! -s "$WORK/man.err" ] || { cat "$WORK/man.err"; fail "man page warnings"; }
grep -q "tracer - exec and syscall tracer" "$WORK/man.txt" || fail "man page NAME"
grep -q "EXIT STATUS" "$WORK/man.txt" || fail "man page EXIT STATUS"

# The completion loads in bash and completes options and their values.
complete_line() {
  bash --norc -c 'source /usr/share/bash-completion/bash_completion
    source /usr/share/bash-completion/completions/tracer
    COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$COMP_LINE"
    [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _tracer; printf "%s\n" "${COMPREPLY[@]}"' _ "$1"
}
completes() {  # line expected
  local got
  got=$(complete_line "$1")
  grep -qx -- "$2" <<< "$got" || fail "completing '$1' gave '$got', not '$2'"
}
completes "tracer --out" "--output"
completes "tracer --output " "json"
completes "tracer --syscall-hook r" "raw"
completes "tracer --trace event=exe" "event=execve"

# The unit verifies and is hardened.
systemd-analyze verify /lib/systemd/system/tracer.service 2> "$WORK/verify.err" || { cat "$WORK/verify.err"; fail "systemd-analyze verify"; }
[ ! -s "$WORK/verify.err" ] || { cat "$WORK/verify.err"; fail "systemd-analyze verify warnings"; }
systemd-analyze security --offline=true --no-pager /lib/systemd/system/tracer.service > "$WORK/security.txt" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for tracer.service: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
[ -n "$score" ] || { cat "$WORK/security.txt"; fail "no exposure score"; }
echo "exposure score $score"
awk -v s="$score" 'BEGIN {exit !(s <= 2.5)}' || fail "exposure $score is above 2.5"

# The installed binary, as the unit runs it: a non-root user holding exactly
# the unit's capabilities, produces exec, openat and bash_readline records.
caps=$(sed -n 's/^AmbientCapabilities=//p' /lib/systemd/system/tracer.service | tr 'A-Z' 'a-z' |
       sed 's/cap_//g; s/\([a-z_]\+\)/+\1/g; s/ /,/g')
[ -n "$caps" ] || fail "the unit names no capabilities"
marker="package-test-$$-$RANDOM"
out=$WORK/trace.json err=$WORK/trace.err
mkfifo "$WORK/err.fifo"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$caps" --ambient-caps="$caps" \
  /usr/sbin/tracer --output json --trace event=execve,openat,bash_readline --trace "openat.pathname=/tmp/$marker*" \
  > "$out" 2> "$WORK/err.fifo" &
tracer_pid=$!
exec {err_fd}< "$WORK/err.fifo"
ready=
while IFS= read -r -t 30 -u "$err_fd" line; do
  echo "$line" >> "$err"
  if [[ $line == "tracer: tracing "* ]]; then ready=1; break; fi
done
[ -n "$ready" ] || { cat "$err"; fail "the tracer under the unit's capabilities did not become ready"; }
cat <&"$err_fd" >> "$err" &
grep -q "bash_readline" "$err" || fail "bash_readline is not attached under the unit's capabilities: $(cat "$err")"
/bin/true "$marker"
cat "/tmp/$marker-absent" 2> /dev/null || true
# A real interactive bash on a pty (script(1)) reads the typed line with readline.
printf 'echo %s-typed\nexit\n' "$marker" | script -qfec "bash --norc --noprofile -i" /dev/null > /dev/null 2>&1 || true
deadline=$((SECONDS + 10))
until grep -q "$marker-typed" "$out" && grep -q "\"/tmp/$marker-absent\"" "$out" && grep -q "\"$marker\"" "$out"; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.1
done
kill -INT "$tracer_pid"; wait "$tracer_pid" || fail "tracer exited $?"
grep -q "\"event\":\"execve\".*\"$marker\"" "$out" || fail "no execve record of the marker"
grep -q "\"event\":\"openat\".*\"/tmp/$marker-absent\"" "$out" || fail "no openat record of the marker"
grep -q "\"event\":\"bash_readline\".*$marker-typed" "$out" || fail "no bash_readline record of the typed line"
echo "traced exec, openat and bash_readline as uid 65534 with $caps"

# Removal leaves nothing behind.
dpkg -P tracer > "$WORK/dpkg-purge.log" 2>&1 || { cat "$WORK/dpkg-purge.log"; fail "dpkg -P"; }
trap - EXIT
for path in /usr/sbin/tracer /lib/systemd/system/tracer.service /etc/tracer /etc/logrotate.d/tracer \
            /usr/share/man/man8/tracer.8.gz /usr/share/bash-completion/completions/tracer /usr/share/doc/tracer; do
  [ ! -e "$path" ] || fail "$path is left after dpkg -P"
done
echo "package test passed"

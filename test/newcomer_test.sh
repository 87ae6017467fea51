#!/usr/bin/env bash
# A newcomer's first steps, in a scratch copy of this tree: the demo's build without Go on the
# PATH, which is a user's plain Release build and must not warn (CI's own build adds -Werror to
# the same flags), the demo answering, then the tests' configure on the same build tree (tests
# must come back on).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
demo_pid=
cleanup() {
  [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

# What a clone of this tree holds: tracked files as they are now, and new files not ignored.
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 -I{} sh -c '[ -e "{}" ] && cp --parents -P "{}" "'"$scratch"'"' || true)
cd "$scratch"

echo "--- the demo's build step, with no Go (nor anything of ~/go) on the PATH"
PATH=/usr/sbin:/usr/bin:/sbin:/bin examples/demo --build-only >build-demo.log 2>&1 ||
  { tail -n 30 build-demo.log; fail "examples/demo --build-only"; }
[ -x build/remora ] || fail "the demo's build made no build/remora"
grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' build/CMakeCache.txt || fail "the demo's build is not Release"
# The compiler's, its driver's and the linker's warnings (a source line's, or one that lost its
# location at -O3: "cc1plus: warning:"); not the package installer's ("dpkg: warning:").
compiler_warning='(:[0-9]+: |ld(\.[a-z]+)?: |cc1(plus)?: |[gc]\+\+: |lto-wrapper: )warning:'
if grep -qE "$compiler_warning" build-demo.log; then
  # The "In function ... inlined from" lines before a warning name the source line at fault.
  grep -n -B14 -E "$compiler_warning" build-demo.log | tail -n 80
  fail "the demo's Release build warns"
fi

echo "--- the demo runs and answers"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEMO_PORT=$port DEMO_ADMIN_PORT=$admin PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  examples/demo >demo.log 2>&1 &
demo_pid=$!
deadline=$((SECONDS + 60))
until curl -fsS "http://127.0.0.1:$port/status" 2>/dev/null | grep -q "remora demo is up"; do
  [ $SECONDS -lt $deadline ] || { tail -n 20 demo.log; fail "the demo did not answer on $port"; }
  kill -0 "$demo_pid" 2>/dev/null || { tail -n 20 demo.log; fail "the demo exited"; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/" | grep -q "hello from app" || fail "the demo's split"
kill -TERM "$demo_pid"
wait "$demo_pid" || fail "the demo did not exit 0 on SIGTERM"
demo_pid=

echo "--- the tests' configure step on the same tree"
test/run --configure-only >configure.log 2>&1 || { tail -n 30 configure.log; fail "test/run --configure-only"; }
grep -q '^REMORA_TESTS:BOOL=ON$' build/CMakeCache.txt || fail "tests are off after the demo's build"
# Listed once into a variable: `ninja ... | grep -q` under pipefail fails when grep stops
# reading early and ninja gets SIGPIPE.
targets=$(ninja -C build -t targets all)
grep -q '^remora_unit_tests:' <<<"$targets" || fail "no unit test target"
grep -q '^remora_integration_tests:' <<<"$targets" || fail "no integration test target"

echo "newcomer path: ok"

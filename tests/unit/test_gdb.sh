#!/usr/bin/env bash
# The gdb helper (lib/grove-gdb.py) in batch mode on gdb_target: `grove greenlets` lists the parked
# greenlets with their waits, `grove bt ID` shows the function each parked in — on the live
# process, then on a core file of it.
# usage: test_gdb.sh GDB GROVE_GDB_PY GDB_TARGET
set -uo pipefail
gdb=$1 script=$2 target=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

run_gdb() { timeout 120 "$gdb" -batch -nx -x "$script" -ex 'set pagination off' "$@" 2>&1; }

expect() {  # text, extended regex, what
  if grep -qE -- "$2" <<<"$1"; then
    echo "ok: $3"
  else
    echo "FAIL: $3: no /$2/ in:"
    echo "$1"
    failures=$((failures + 1))
  fi
}

# A greenlet's stack, from its `grove bt` header up to the next header.
stack_of() { awk -v id="$2" '$1 == "greenlet" { on = ($2 == id) } on' <<<"$1"; }

live=$(run_gdb -ex 'break grove_gdb_stop_here' -ex run -ex 'grove greenlets' -ex 'grove bt 3' -ex 'grove bt 4' \
  -ex 'grove bt 1' -ex kill --args "$target")
expect "$live" "^hub on thread [0-9]+: 5 greenlets$" "live: the hub and its count"
expect "$live" "^  greenlet 1 'main' \[running\]$" "live: main runs (it is at the breakpoint)"
expect "$live" "^  greenlet 3 'reader' \[read fd [0-9]+\]$" "live: the reader's wait"
expect "$live" "^  greenlet 4 'sleeper' \[sleep\]$" "live: the sleeper's wait"
expect "$live" "^  greenlet 5 'waiter' \[grove::Event::wait 0x[0-9a-f]+\]$" "live: the Event wait"
expect "$live" "^  greenlet 6 'joiner' \[join of 'waiter'\]$" "live: the join"
expect "$(stack_of "$live" 3)" "park_in_read at .*gdb_target.cpp:[0-9]+" "live: bt 3 reaches park_in_read"
expect "$(stack_of "$live" 4)" "park_in_sleep at .*gdb_target.cpp:[0-9]+" "live: bt 4 reaches park_in_sleep"
expect "$(stack_of "$live" 1)" "grove_gdb_stop_here at .*gdb_target.cpp" "live: bt 1 is the running thread's stack"

# A core the kernel writes when the target aborts at the same point (core_pattern permitting).
# gdb's own gcore cannot stand in for it: it reads each mapping whole, and on Linux >= 6.13 the
# stacks' MADV_GUARD_INSTALL guard pages make those reads fail, so its core has no greenlet stacks.
core=""
if [[ "$(cat /proc/sys/kernel/core_pattern)" != "|"* ]]; then
  (cd "$tmp" && ulimit -c unlimited && exec "$target" abort) >/dev/null 2>&1
  core=$(ls "$tmp"/core* 2>/dev/null | head -1)
fi
if [ -n "$core" ]; then
  text=$(run_gdb -ex 'grove greenlets' -ex 'grove bt 3' -ex 'grove bt 4' "$target" "$core")
  expect "$text" "^  greenlet 3 'reader' \[read fd [0-9]+\]$" "core: the reader's wait"
  expect "$text" "^  greenlet 6 'joiner' \[join of 'waiter'\]$" "core: the join"
  expect "$(stack_of "$text" 3)" "park_in_read at .*gdb_target.cpp:[0-9]+" "core: bt 3 reaches park_in_read"
  expect "$(stack_of "$text" 4)" "park_in_sleep at .*gdb_target.cpp:[0-9]+" "core: bt 4 reaches park_in_sleep"
else
  echo "note: no core from the kernel here (core_pattern or limits); only the listing on gcore's core is checked"
  run_gdb -ex 'break grove_gdb_stop_here' -ex run -ex "gcore $tmp/gcore" -ex kill --args "$target" >/dev/null
  text=$(run_gdb -ex 'grove greenlets' "$target" "$tmp/gcore")
  expect "$text" "^  greenlet 3 'reader' \[read fd [0-9]+\]$" "gcore: the reader's wait"
fi
[ "$failures" -eq 0 ]

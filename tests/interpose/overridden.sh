#!/usr/bin/env bash
# The interposer says when some of its hooks are bypassed (another library loaded before it defines
# the same names), and stays silent when they are all in effect. Args: preload, shadowing library.
set -uo pipefail
preload="$1" shadow="$2"
failures=0
check() { if [ "$2" == "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; failures=$((failures + 1)); fi; }
out=$(timeout 10 env LD_PRELOAD="$shadow:$preload" GROVE_LOG=warn /bin/true 2>&1)
check "warning names the bypassed read" 1 "$(grep -c 'bypass it: read$\|bypass it: read ' <<<"$out")"
check "warning names nothing else" 0 "$(grep -c 'write' <<<"$out")"
out=$(timeout 10 env LD_PRELOAD="$preload" GROVE_LOG=warn /bin/true 2>&1)
check "no warning when every hook is in effect" "" "$out"
out=$(timeout 10 env LD_PRELOAD="$preload:$shadow" GROVE_LOG=warn /bin/true 2>&1)
check "no warning when grove comes first" "" "$out"
echo "$failures failures"
[ "$failures" -eq 0 ]

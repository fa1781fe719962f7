#!/usr/bin/env bash
# bench_resolve.sh — P7 as a user meets it: samples/resolve over NAMES names, all in flight at
# once, in a network namespace whose resolv.conf points at tests/dns/dns_serve on 127.0.0.1:53,
# which answers every query (A and AAAA) after DELAY ms. BATCHES batches of RUNS runs in a row,
# fresh names for every run. Prints each run's summary line (wall time, slowest single lookup),
# each batch's median and worst run, and the namespace's UDP counters (UdpRcvbufErrors counts
# datagrams the kernel dropped because a receive buffer was full) and the server's counts.
#
#   tests/bench/bench_resolve.sh [BUILD_DIR]        (default: build; needs root for the namespace)
#   NAMES=10000 BATCHES=1 RUNS=5 tests/bench/bench_resolve.sh
#   RESOLVE=/path/to/other/resolve tests/bench/bench_resolve.sh    (compare another build)
#
# Environment: NAMES (1000), CONCURRENCY (NAMES), BATCHES (10), RUNS (10), DELAY (50 ms),
# FAMILY (any, 4 or 6), TARGET_MS (DELAY + 50). Every run is bounded by `timeout 60`.
set -euo pipefail

build="${1:-build}"
names="${NAMES:-1000}"
concurrency="${CONCURRENCY:-$names}"
batches="${BATCHES:-10}"
runs="${RUNS:-10}"
delay="${DELAY:-50}"
family="${FAMILY:-any}"
target_ms="${TARGET_MS:-$((delay + 50))}"
resolve="${RESOLVE:-$build/samples/resolve}"
serve="$build/tests/dns/dns_serve"

[ "$(id -u)" -eq 0 ] || { echo "bench_resolve: needs root (ip netns)" >&2; exit 2; }
for f in "$resolve" "$serve"; do [ -x "$f" ] || { echo "bench_resolve: $f not built" >&2; exit 2; }; done

ns="grove-bench-resolve-$$"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -INT "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "/etc/netns/$ns" "$work"
}
trap cleanup EXIT

mkdir -p "/etc/netns/$ns"
printf 'nameserver 127.0.0.1\n' > "/etc/netns/$ns/resolv.conf"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" "$serve" --delay-ms "$delay" > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q '^ready' "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
grep -q '^ready' "$work/serve.log" || { echo "bench_resolve: dns_serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

echo "load: $(uptime)"
echo "samples/resolve -c $concurrency -f $family over $names names, server delay $delay ms, $batches x $runs runs (target <= $target_ms ms)"
ip netns exec "$ns" nstat -n >/dev/null 2>&1 || true
all_walls=()
all_slowest=()
over=0
for b in $(seq "$batches"); do
  walls=()
  for r in $(seq "$runs"); do
    seq 0 $((names - 1)) | sed "s/.*/n&.r$r.b$b.bench/" > "$work/names"
    line="$(ip netns exec "$ns" timeout 60 "$resolve" -q -c "$concurrency" -f "$family" < "$work/names" | tail -n 1)" || true
    echo "  batch $b run $r: $line"
    secs="$(sed -n 's/.* failed, \([0-9.]*\) seconds.*/\1/p' <<<"$line")"
    slow="$(sed -n 's/.*slowest lookup \([0-9.]*\) s.*/\1/p' <<<"$line")"
    ms="$(awk -v s="${secs:-999}" 'BEGIN { printf "%.1f", s * 1000 }')"
    walls+=("$ms")
    all_walls+=("$ms")
    all_slowest+=("$(awk -v s="${slow:-999}" 'BEGIN { printf "%.1f", s * 1000 }')")
    awk -v m="$ms" -v t="$target_ms" 'BEGIN { exit !(m > t) }' && over=$((over + 1))
  done
  printf '%s\n' "${walls[@]}" | sort -n | awk -v b="$b" '{ v[NR] = $1 } END {
    printf "batch %d: median %.1f ms, worst %.1f ms\n", b, v[int((NR + 1) / 2)], v[NR] }'
done
printf '%s\n' "${all_walls[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  printf "all runs: median %.1f ms, worst %.1f ms\n", v[int((NR + 1) / 2)], v[NR] }'
printf '%s\n' "${all_slowest[@]}" | sort -n | tail -n 1 | awk '{ printf "slowest single lookup: %.1f ms\n", $1 }'
echo "runs over $target_ms ms: $over of $((batches * runs))"
echo "namespace UDP counters:"
ip netns exec "$ns" nstat 2>/dev/null | grep -E '^Udp(InDatagrams|OutDatagrams|RcvbufErrors|InErrors|SndbufErrors)' || echo "  (nstat: no change)"
kill -INT "$server_pid" && wait "$server_pid" || true
server_pid=""
tail -n 1 "$work/serve.log"
[ "$over" -eq 0 ]

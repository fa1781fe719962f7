#!/usr/bin/env bash
# Several hubs (DESIGN.md §5 P9, issue 11), side by side with their peers in one run:
#
#   P9     round trip between greenlets on two hubs through grove::mt::Channel (bench_hubs)
#          vs Go's round trip between two goroutines locked to two threads, GOMAXPROCS=2 (hubs.go;
#          20k round trips per run there, it is that slow), and, for context, not locked
#   queue  items/s through a cross-hub grove::mt::Queue<int>(1024) vs a Go channel of 1024
#   echo   samples/echo_server --threads 1, --threads 2 (per-hub listeners), --threads 2 --accept
#          handout, under tests/bench/echo_load (1000 connections, 64 B): msg/s, the server's CPU
#          share (of one core) and messages per server CPU-second
#
#   tests/bench/bench_hubs.sh [BUILD_DIR]     (default build-bench, configured --buildtype=release)
#
# Environment: RUNS (default 5), ECHO_SECONDS (default 5), ECHO_CONNS (default 1000). The bench_hubs
# threads are pinned to CPUs 0 and 1, the Go program runs under taskset -c 0,1. For echo, the
# one-thread server runs on CPU 0 and the load on CPU 1; the two-thread servers get CPUs 0 and 1
# and share CPU 1 with the load generator — on a two-core machine that is the honest setup, and
# messages per server CPU-second is the figure that compares them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-bench}
RUNS=${RUNS:-5}
ECHO_SECONDS=${ECHO_SECONDS:-5}
ECHO_CONNS=${ECHO_CONNS:-1000}
work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "$@" >&2; }
median() { printf '%s\n' "$@" | { grep -v '^nan$' || true; } | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

log "== build ($build)"
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" "$root" --buildtype=release -Dbenchmarks=true >"$work/setup.log" || { cat "$work/setup.log"; exit 1; }
fi
ninja -C "$build" tests/bench/bench_hubs tests/bench/echo_load samples/echo_server >"$work/ninja.log" || { cat "$work/ninja.log"; exit 1; }
export GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on
export GOCACHE=${GOCACHE:-$work/gocache}
(cd "$work" && cp "$here/hubs.go" . && go build -o hubs hubs.go) || { log "go build failed"; exit 1; }
log "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (on $(nproc) CPUs)"
(($(nproc) >= 2)) || { log "needs two CPUs"; exit 1; }

# --- P9 and the queue --------------------------------------------------------------------------
declare -a g_rt g_q go_rt go_q gu_rt gu_q
rt() { sed -n 's/.*round trip \([0-9.]*\) ns.*/\1/p' <<<"$1"; }
qs() { sed -n 's/.*queue \([0-9.]*\) M.*/\1/p' <<<"$1"; }
for r in $(seq "$RUNS"); do
  g=$("$build/tests/bench/bench_hubs" 1 200000 10000000 | tail -1)
  o=$(GOMAXPROCS=2 taskset -c 0,1 "$work/hubs" -runs 1 -rounds 20000 -items 10000000 | tail -1)
  u=$(GOMAXPROCS=2 taskset -c 0,1 "$work/hubs" -runs 1 -rounds 200000 -items 10000000 -locked=false | tail -1)
  log "  round $r: grove: $g | Go locked: $o | Go unlocked: $u"
  g_rt+=("$(rt "$g")") g_q+=("$(qs "$g")") go_rt+=("$(rt "$o")") go_q+=("$(qs "$o")") gu_rt+=("$(rt "$u")") gu_q+=("$(qs "$u")")
done

# --- echo_server --threads -------------------------------------------------------------------
declare -A e_rate e_cpu e_eff
port=$((30000 + $$ % 20000))
run_echo() {  # name cpus args...
  local name=$1 cpus=$2
  shift 2
  port=$((port + 1))
  local out_file="$work/srv.$name.$port"
  taskset -c "$cpus" "$build/samples/echo_server" -p "$port" "$@" >"$out_file" 2>&1 &
  server_pid=$!
  local start=$SECONDS
  until grep -q listening "$out_file" 2>/dev/null; do
    if ((SECONDS - start > 30)) || ! kill -0 "$server_pid" 2>/dev/null; then
      log "  $name: server did not start: $(cat "$out_file")"
      exit 1
    fi
    sleep 0.1
  done
  local out
  out=$(timeout $((ECHO_SECONDS + 30)) taskset -c 1 "$build/tests/bench/echo_load" "$port" "$ECHO_CONNS" "$ECHO_SECONDS" 1 "$server_pid") ||
    out="nan nan nan nan nan nan nan nan nan nan nan nan"
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  log "  $name: $out"
  e_rate[$name]+="$(awk '{print $6}' <<<"$out") "
  e_cpu[$name]+="$(awk '{print $10}' <<<"$out") "
  e_eff[$name]+="$(awk '{print $12}' <<<"$out") "
}
for r in $(seq "$RUNS"); do
  run_echo t1 0 --threads 1
  run_echo t2 0,1 --threads 2
  run_echo t2_handout 0,1 --threads 2 --accept handout
done

echo
echo "raw: P9 round trip ns  grove ${g_rt[*]}  Go locked ${go_rt[*]}  Go unlocked ${gu_rt[*]}"
echo "raw: queue M items/s   grove ${g_q[*]}  Go locked ${go_q[*]}  Go unlocked ${gu_q[*]}"
for n in t1 t2 t2_handout; do
  echo "raw: echo $n msg/s ${e_rate[$n]}| server CPU ${e_cpu[$n]}| msg per server CPU-s ${e_eff[$n]}"
done
echo
fmt="%-52s %14s %14s\n"
printf "$fmt" "measure (medians of $RUNS)" "grove" "peer"
printf "$fmt" "P9 round trip between two hubs, ns (target < Go)" "$(median "${g_rt[@]}")" "Go $(median "${go_rt[@]}")"
printf "$fmt" "  (Go with the goroutines not locked, for context)" "" "$(median "${gu_rt[@]}")"
printf "$fmt" "cross-hub queue, M items/s (target >= 2)" "$(median "${g_q[@]}")" "Go $(median "${go_q[@]}")"
printf "$fmt" "  (Go not locked)" "" "$(median "${gu_q[@]}")"
for n in t1 t2 t2_handout; do
  # shellcheck disable=SC2086
  printf "$fmt" "echo $n: msg/s | server CPU | msg per server CPU-s" \
    "$(median ${e_rate[$n]}) | $(median ${e_cpu[$n]})" "$(median ${e_eff[$n]})"
done

# Rows for run.sh's table (tab-separated: measure, grove, peer, ratio, target, verdict).
p9=$(median "${g_rt[@]}") p9_go=$(median "${go_rt[@]}") q=$(median "${g_q[@]}")
t1=$(median ${e_eff[t1]}) t2=$(median ${e_eff[t2]}) t2h=$(median ${e_eff[t2_handout]})
awk -v g="$p9" -v o="$p9_go" -v q="$q" -v qo="$(median "${go_q[@]}")" -v t1="$t1" -v t2="$t2" -v t2h="$t2h" 'BEGIN {
  ok = (g != "nan" && o != "nan" && g + 0 < o + 0)
  printf "ROW\tP9 round trip between two hubs, ns\t%s\tGo locked %s\t%.1f\tfaster than Go\t%s\n", g, o, (g > 0 ? o / g : 0), ok ? "PASS" : "FAIL"
  printf "ROW\tP9 cross-hub Queue, M items/s\t%s\tGo chan %s\t-\t>= 2\t%s\n", q, qo, (q != "nan" && q + 0 >= 2) ? "PASS" : "FAIL"
  printf "ROW\tP9 echo --threads 2 / --threads 1, msg per server CPU-s\t%s\tt1 %s\t%.2f\t(2 cores, load on one)\t-\n", t2, t1, (t1 > 0 ? t2 / t1 : 0)
  printf "ROW\tP9 echo --threads 2 handout / --threads 1\t%s\tt1 %s\t%.2f\t(2 cores, load on one)\t-\n", t2h, t1, (t1 > 0 ? t2h / t1 : 0)
}'

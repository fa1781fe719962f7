#!/usr/bin/env bash
# Builds tests/bench in release mode, runs P1–P9 of DESIGN.md §5 side by side (grove next to its
# limit or peer, in the same run, on the same machine) and prints raw numbers, medians and a table.
# P1–P4 are run here; P5 (bench_green.sh), P6 (bench_fetch.sh), P7 (bench_dns), P8
# (bench_preload.sh) and P9 (bench_hubs.sh) by the scripts next to this one, each with its peers
# in the same run.
#
#   tests/bench/run.sh [BUILD_DIR]        (default: build-bench, relative to the repo root)
#
# Environment: RUNS (repetitions for P1, P2, P4; default 5), ECHO_SECONDS (measured seconds per P4
# run; default 5), SKIP_1M=1 (skip P3's one-million-greenlet run, the slowest step), CORE_ONLY=1
# (P1–P4 only).
# Needs: meson, ninja, Google Benchmark, go (golang-go), taskset; for P5–P9 also nginx, curl,
# redis-server and redis-benchmark, python3. About 2–3 minutes on 2 cores for P1–P4, 6–8 for all with SKIP_1M=1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
[[ $build = /* ]] || build="$root/$build"
RUNS=${RUNS:-5}
ECHO_SECONDS=${ECHO_SECONDS:-5}
ECHO_CONNS=1000

work=$(mktemp -d /tmp/grove-bench.XXXXXX)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

# Median of the numbers given as arguments.
median() { printf '%s\n' "$@" | { grep -v '^nan$' || true; } | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# --- build ------------------------------------------------------------------------------------
log "== build ($build, release)"
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" "$root" --buildtype=release -Dbenchmarks=true >"$work/setup.log" || { cat "$work/setup.log"; exit 1; }
fi
ninja -C "$build" tests/bench/bench_switch tests/bench/bench_skynet tests/bench/bench_parked \
  tests/bench/echo_grove tests/bench/echo_epoll tests/bench/echo_load >"$work/ninja.log" || { cat "$work/ninja.log"; exit 1; }
bin="$build/tests/bench"
buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null | tr '{' '\n' | grep '"name": "buildtype"' | grep -o '"value": "[a-z]*"' | cut -d'"' -f4 || true)
[[ $buildtype = release ]] || log "warning: $build has buildtype '$buildtype', not release"

# Go twins, built offline from single-file, standard-library-only programs.
export GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on
export GOCACHE=${GOCACHE:-$work/gocache}
(cd "$work" && cp "$here/skynet.go" "$here/echo_server.go" . &&
  go build -o skynet skynet.go && go build -o echo_server echo_server.go) || { log "go build failed"; exit 1; }

ncpu=$(nproc)
# Other work on the machine moves every number here, P4 most: say so in the output.
load1=$(cut -d' ' -f1 /proc/loadavg)
log "load average before the run: $load1 (on $ncpu CPUs)"
awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }' && log "warning: the machine is busy; expect noisy numbers (see server CPU shares in P4)"

if ((ncpu >= 2)); then
  server_cpu=0
  load_cpu=1
  pin_server=(taskset -c $server_cpu)
  pin_load=(taskset -c $load_cpu)
  pin_one=(taskset -c $load_cpu)
else
  log "warning: one CPU only: server and load generator share it"
  pin_server=()
  pin_load=()
  pin_one=()
fi

# --- P1: switch cost ----------------------------------------------------------------------------
log "== P1: yield through the hub vs raw jump_fcontext ($RUNS repetitions)"
"${pin_one[@]}" "$bin/bench_switch" --benchmark_repetitions="$RUNS" --benchmark_min_time=0.2 \
  2>/dev/null | tee "$work/p1.txt" | grep -E '^BM_' >&2
p1_vals() { grep -E "^$1 " "$work/p1.txt" | sed -E 's/.*ns_per_switch=([0-9.]+).*/\1/'; }
p1_grove_raw=$(p1_vals BM_grove_yield | xargs)
p1_limit_raw=$(p1_vals BM_raw_fcontext | xargs)
p1_calls_raw=$(p1_vals BM_raw_fcontext_behind_calls | xargs)
p1_grove=$(median $p1_grove_raw)
p1_limit=$(median $p1_limit_raw)
p1_calls=$(median $p1_calls_raw)

# --- P2: skynet -------------------------------------------------------------------------------
log "== P2: skynet, 1M leaves, one thread ($RUNS runs each)"
"${pin_one[@]}" "$bin/bench_skynet" "$RUNS" | tee "$work/p2_grove.txt" >&2
GOMAXPROCS=1 "${pin_one[@]}" "$work/skynet" "$RUNS" | tee "$work/p2_go.txt" >&2
p2_grove=$(awk '/^median_ms/ {print $2}' "$work/p2_grove.txt")
p2_go=$(awk '/^median_ms/ {print $2}' "$work/p2_go.txt")
p2_grove_raw=$(awk '/^run/ {print $3}' "$work/p2_grove.txt" | xargs)
p2_go_raw=$(awk '/^run/ {print $3}' "$work/p2_go.txt" | xargs)

# --- P3: memory per parked greenlet -------------------------------------------------------------
log "== P3: parked greenlets"
p3_100k=()
for _ in 1 2 3; do
  "$bin/bench_parked" 100000 >"$work/p3.txt"
  p3_100k+=("$(awk '/^rss_per_greenlet_bytes/ {print $2}' "$work/p3.txt")")
done
cat "$work/p3.txt" >&2
p3_100k_med=$(median "${p3_100k[@]}")
p3_100k_pte=$(awk '/^pte_per_greenlet_bytes/ {print $2}' "$work/p3.txt")
p3_100k_maps="$(awk '/^maps_before/ {b=$2} /^maps_after/ {a=$2} END {print b "->" a}' "$work/p3.txt")"
if [[ ${SKIP_1M:-0} != 1 ]]; then
  if "$bin/bench_parked" 1000000 >"$work/p3m.txt"; then
    cat "$work/p3m.txt" >&2
    p3_1m=$(awk '/^rss_per_greenlet_bytes/ {print $2}' "$work/p3m.txt")
    p3_1m_pte=$(awk '/^pte_per_greenlet_bytes/ {print $2}' "$work/p3m.txt")
    p3_1m_maps="$(awk '/^maps_before/ {b=$2} /^maps_after/ {a=$2} /^max_map_count/ {m=$2} END {print b "->" a " of " m}' "$work/p3m.txt")"
  else
    log "P3 with 1M greenlets failed"
    p3_1m=nan p3_1m_pte=nan p3_1m_maps=failed
  fi
else
  p3_1m=skipped p3_1m_pte=- p3_1m_maps=-
fi

# --- P4: echo ---------------------------------------------------------------------------------
log "== P4: echo, $ECHO_CONNS connections x 64 B, ${ECHO_SECONDS}s per run, $RUNS rounds (server on CPU ${server_cpu:-any}, load on CPU ${load_cpu:-any})"
port_base=$((20000 + $$ % 20000))
declare -A p4_rate p4_cpu p4_eff
srv_runs=0
run_echo() {  # name port cmd...
  local name=$1 port=$2
  shift 2
  # A fresh file per run: the background child truncates its output file only once it runs, so
  # reusing one file could show the previous server's "listening" line.
  srv_out="$work/srv.$name.$((++srv_runs)).out"
  "${pin_server[@]}" "$@" "$port" >"$srv_out" 2>&1 &
  server_pid=$!
  local start=$SECONDS
  until grep -q listening "$srv_out" 2>/dev/null; do
    if ((SECONDS - start > 60)) || ! kill -0 "$server_pid" 2>/dev/null; then
      log "  $name: server did not start (skipping this round): $(cat "$srv_out")"
      kill "$server_pid" 2>/dev/null || true
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      p4_record "$name" "nan nan nan nan nan nan nan nan nan nan nan nan"
      return 0
    fi
    sleep 0.1
  done
  ((SECONDS - start <= 2)) || log "  $name: server took $((SECONDS - start)) s to start"
  local out
  out=$(timeout $((ECHO_SECONDS + 30)) "${pin_load[@]}" "$bin/echo_load" "$port" "$ECHO_CONNS" "$ECHO_SECONDS" 1 "$server_pid") || {
    log "  $name: load generator failed (round not counted): $out"
    out="nan nan nan nan nan nan nan nan nan nan nan nan"
  }
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  log "  $name: $out"
  p4_record "$name" "$out"
}
# A skipped or failed round records "nan", so that rounds stay aligned for the per-round ratios.
p4_record() {  # name "echo_load output"
  p4_rate[$1]+="$(awk '{print $6}' <<<"$2") "
  p4_cpu[$1]+="$(awk '{print $10}' <<<"$2") "
  p4_eff[$1]+="$(awk '{print $12}' <<<"$2") "
}
for r in $(seq "$RUNS"); do
  # Interleaved, so that drift in the machine's load hits all three alike.
  run_echo epoll $((port_base + 0)) "$bin/echo_epoll"
  run_echo grove $((port_base + 1)) "$bin/echo_grove"
  GOMAXPROCS=1 run_echo go $((port_base + 2)) "$work/echo_server"
done
p4_epoll=$(median ${p4_rate[epoll]})
p4_grove=$(median ${p4_rate[grove]})
p4_go=$(median ${p4_rate[go]})
# Ratios per round, then their median: the three servers of one round ran back to back, so
# this cancels slow drift in the machine's load better than a ratio of medians.
round_ratios() {  # list_a list_b
  paste -d' ' <(tr ' ' '\n' <<<"$1" | sed '/^$/d') <(tr ' ' '\n' <<<"$2" | sed '/^$/d') |
    awk '{ if ($1 != "nan" && $2 != "nan" && $2 + 0 > 0) printf "%.3f ", $1 / $2 }'
}
p4_rr_epoll=$(round_ratios "${p4_rate[grove]}" "${p4_rate[epoll]}")
p4_rr_go=$(round_ratios "${p4_rate[grove]}" "${p4_rate[go]}")
p4_er_epoll=$(round_ratios "${p4_eff[grove]}" "${p4_eff[epoll]}")
p4_er_go=$(round_ratios "${p4_eff[grove]}" "${p4_eff[go]}")
p4_epoll_eff=$(median ${p4_eff[epoll]})
p4_grove_eff=$(median ${p4_eff[grove]})
p4_go_eff=$(median ${p4_eff[go]})

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 == 0) print "nan"; else printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "nan" || v == "skipped") { print "n/a"; exit }
  ok = (op == "<=") ? (v + 0 <= t + 0) : (v + 0 >= t + 0); print ok ? "PASS" : "FAIL" }'; }

# --- P5–P9: the scripts next to this one -------------------------------------------------------
# Each prints its raw numbers (shown here on stderr) and ends with "ROW<tab>…" lines for the table.
# Its peers run in the same script, so its ratios hold on their own.
more_rows=()
run_more() {  # label script args...
  local label=$1 out="$work/more.$1.txt"
  shift
  log "== $label: $*"
  if "$@" >"$out" 2>&1; then :; else log "  $label failed (exit $?): $(tail -5 "$out")"; fi
  grep -v '^ROW' "$out" | sed 's/^/  /' >&2 || true
  while IFS= read -r line; do more_rows+=("$line"); done < <(grep '^ROW' "$out" || true)
}
if [[ ${CORE_ONLY:-0} != 1 ]]; then
  run_more P5 env RUNS="$RUNS" bash "$here/bench_green.sh" "$build"
  run_more P6 env RUNS="$RUNS" bash "$here/bench_fetch.sh" "$build"
  # P7 in process: 1000 lookups against the scripted server answering after 50 ms, 10 runs.
  ninja -C "$build" tests/bench/bench_dns >>"$work/ninja.log"
  p7_out=$("$bin/bench_dns" -n 1000 -d 50 -r 10 2>&1) || true
  log "== P7: bench_dns -n 1000 -d 50 -r 10"
  sed 's/^/  /' <<<"$p7_out" >&2
  p7_med=$(grep -o 'median [0-9.]* ms' <<<"$p7_out" | awk '{print $2}' | head -1)
  p7_worst=$(grep -o 'worst run [0-9.]* ms' <<<"$p7_out" | awk '{print $3}' | head -1)
  more_rows+=("$(printf 'ROW\t%s\t%s\t%s\t%s\t%s\t%s' "P7 1000 lookups at 50 ms, worst of 10" "${p7_worst:-nan}" \
    "median ${p7_med:-nan}" "-" "<= 100 ms" "$(verdict "${p7_worst:-nan}" '<=' 100)")")
  run_more P8 env RUNS="$RUNS" bash "$here/bench_preload.sh" "$build"
  run_more P9 env RUNS="$RUNS" bash "$here/bench_hubs.sh" "$build"
fi

# --- table ------------------------------------------------------------------------------------

echo
echo "raw numbers (each run), medians:"
echo "  P1 grove ns/switch:      $p1_grove_raw  -> median $p1_grove"
echo "  P1 raw fcontext ns/sw:   $p1_limit_raw  -> median $p1_limit"
echo "  P1 raw, behind 2 calls:  $p1_calls_raw  -> median $p1_calls (reference: the jump reached through function calls)"
echo "  P2 grove skynet ms:      $p2_grove_raw  -> median $p2_grove"
echo "  P2 Go skynet ms:         $p2_go_raw  -> median $p2_go"
echo "  P3 100k B/greenlet RSS:  ${p3_100k[*]}  -> median $p3_100k_med (+ page tables $p3_100k_pte B; mappings $p3_100k_maps)"
echo "  P3 1M B/greenlet RSS:    $p3_1m (+ page tables $p3_1m_pte B; mappings $p3_1m_maps)"
echo "  P4 epoll msg/s:          ${p4_rate[epoll]} -> median $p4_epoll (server CPU share: ${p4_cpu[epoll]})"
echo "  P4 grove msg/s:          ${p4_rate[grove]} -> median $p4_grove (server CPU share: ${p4_cpu[grove]})"
echo "  P4 Go msg/s:             ${p4_rate[go]} -> median $p4_go (server CPU share: ${p4_cpu[go]})"
echo "  P4 msg per server CPU-s: epoll ${p4_eff[epoll]} -> $p4_epoll_eff; grove ${p4_eff[grove]} -> $p4_grove_eff; Go ${p4_eff[go]} -> $p4_go_eff"
echo "  P4 per-round grove/epoll: $p4_rr_epoll -> median $(median $p4_rr_epoll); grove/Go: $p4_rr_go -> median $(median $p4_rr_go)"
echo "  P4 per-round per CPU-s grove/epoll: $p4_er_epoll -> median $(median $p4_er_epoll); grove/Go: $p4_er_go -> median $(median $p4_er_go)"
echo "  (a server CPU share well below 1.00 means the server was not the bottleneck in that run)"
echo
fmt='| %-44s | %12s | %-24s | %7s | %-16s | %-4s |\n'
printf "$fmt" measure grove limit/peer ratio target result
printf "$fmt" "$(printf -- '-%.0s' {1..44})" "------------" "------------------------" "-------" "----------------" "----"
p1_ratio=$(ratio "$p1_grove" "$p1_limit")
printf "$fmt" "P1 yield, ns per switch" "$p1_grove" "fcontext $p1_limit" "$p1_ratio" "ratio <= 3" "$(verdict "$p1_ratio" '<=' 3)"
printf "$fmt" "P2 skynet 1M, ms (median)" "$p2_grove" "Go $p2_go" "$(ratio "$p2_grove" "$p2_go")" "ratio <= 0.5" "$(verdict "$(ratio "$p2_grove" "$p2_go")" '<=' 0.5)"
printf "$fmt" "P3 RSS per parked, 100k, bytes" "$p3_100k_med" "maps $p3_100k_maps" "-" "<= 5120 B" "$(verdict "$p3_100k_med" '<=' 5120)"
printf "$fmt" "P3 RSS per parked, 1M, bytes" "$p3_1m" "maps $p3_1m_maps" "-" "<= 5120 B" "$(verdict "$p3_1m" '<=' 5120)"
# P4 ratios: medians of the per-round ratios (see above); the other columns are plain medians.
# The target is per server CPU-second (DESIGN §5); msg/s follows as a supplement.
p4_e_epoll=$(median $p4_er_epoll)
p4_e_go=$(median $p4_er_go)
printf "$fmt" "P4 msg per server CPU-s vs epoll" "$p4_grove_eff" "epoll $p4_epoll_eff" "$p4_e_epoll" "ratio >= 1.0" "$(verdict "$p4_e_epoll" '>=' 1.0)"
printf "$fmt" "P4 msg per server CPU-s vs Go" "$p4_grove_eff" "Go $p4_go_eff" "$p4_e_go" "ratio >= 1.3" "$(verdict "$p4_e_go" '>=' 1.3)"
for row in "${more_rows[@]}"; do
  IFS=$'\t' read -r _ m g peer r t v <<<"$row"
  printf "$fmt" "$m" "$g" "$peer" "$r" "$t" "$v"
done
echo "supplementary (P1: the raw jump reached through two function calls; P4 msg/s: also limited by the load generator):"
printf "$fmt" "P1 yield vs raw jump behind 2 calls" "$p1_grove" "behind calls $p1_calls" "$(ratio "$p1_grove" "$p1_calls")" "-" "-"
printf "$fmt" "P4 echo msg/s vs epoll loop in C" "$p4_grove" "epoll $p4_epoll" "$(median $p4_rr_epoll)" "-" "-"
printf "$fmt" "P4 echo msg/s vs Go" "$p4_grove" "Go $p4_go" "$(median $p4_rr_go)" "-" "-"

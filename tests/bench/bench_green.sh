#!/usr/bin/env bash
# P5: an unmodified thread-per-connection echo server (tests/interpose/tpc_echo_server.c), 2000
# connections of 64-byte ping-pong, natively (2000 OS threads) and with --green-threads (its
# threads as greenlets of one hub), same run: messages/s and per server CPU-second, OS threads,
# open fds and RSS at the end. Server on core 0, load (echo_load) on core 1, medians of RUNS.
#   tests/bench/bench_green.sh [BUILD_DIR]   (default build-bench)   target: >= 1.5x native, <= 4 threads
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}; [[ $build = /* ]] || build="$root/$build"
RUNS=${RUNS:-5} CONNS=${CONNS:-2000} SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" --buildtype=release >/dev/null
ninja -C "$build" interpose/grove-run interpose/libgrove_preload.so tests/interpose/tpc_echo_server_lfs \
  tests/bench/echo_load >/dev/null
ulimit -n 16384
run="$build/interpose/grove-run"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { awk -v k="$1" '{for (i=1;i<NF;i++) if ($i==k) print $(i+1)}' <<<"$2"; }

one() {  # $@: how to start the server; prints "msg/s msg_per_cpu_s threads fds rss_kib"
  rm -f "$work/port"
  taskset -c 0 "$@" "$build/tests/interpose/tpc_echo_server_lfs" >"$work/port" 2>/dev/null &
  local pid=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  taskset -c 1 "$build/tests/bench/echo_load" "$(head -1 "$work/port")" "$CONNS" "$SECONDS_PER_RUN" 1 "$pid" \
    >"$work/load" &
  local load=$!
  sleep $(( (SECONDS_PER_RUN + 2) / 2 ))  # mid-measurement: every connection open
  local threads fds rss line
  threads=$(ls "/proc/$pid/task" | wc -l); fds=$(ls "/proc/$pid/fd" | wc -l)
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  wait $load
  line=$(cat "$work/load")
  kill $pid; wait $pid 2>/dev/null || true
  echo "$(field msg_per_s "$line") $(field msg_per_server_cpu_s "$line") $threads $fds $rss"
}

n=(); nc=(); g=(); gc=()
for r in $(seq "$RUNS"); do
  read -r a b nt nf nr < <(one env); n+=("$a"); nc+=("$b")
  read -r a b gt gf gr < <(one "$run" --green-threads --); g+=("$a"); gc+=("$b")
done
echo "native msg/s: ${n[*]}"
echo "green  msg/s: ${g[*]}"
mn=$(median "${n[@]}"); mg=$(median "${g[@]}"); cn=$(median "${nc[@]}"); cg=$(median "${gc[@]}")
printf '\n%-40s %12s %12s %8s %10s\n' measure native green ratio target
printf '%-40s %12.0f %12.0f %8.2f %10s\n' "P5 msg/s, $CONNS connections, 64 B" "$mn" "$mg" "$(echo "$mg / $mn" | bc -l)" ">=1.5"
printf '%-40s %12.0f %12.0f %8.2f\n' "   msg per server CPU-second" "$cn" "$cg" "$(echo "$cg / $cn" | bc -l)"
printf '%-40s %12d %12d %8s %10s\n' "   OS threads (mid-run)" "$nt" "$gt" "" "<=4"
printf '%-40s %12d %12d\n' "   open fds (mid-run)" "$nf" "$gf"
printf '%-40s %12d %12d\n' "   RSS KiB (mid-run)" "$nr" "$gr"

# For tests/bench/run.sh's table: measure, grove, peer, ratio, target, result.
ratio=$(echo "$mg / $mn" | bc -l)
printf 'ROW\t%s\t%.0f\t%s\t%.2f\t%s\t%s\n' "P5 green threads msg/s vs native" "$mg" "native $(printf %.0f "$mn")" "$ratio" "ratio >= 1.5" \
  "$(awk -v r="$ratio" 'BEGIN { print (r >= 1.5) ? "PASS" : "FAIL" }')"
printf 'ROW\t%s\t%d\t%s\t%s\t%s\t%s\n' "P5 OS threads (mid-run)" "$gt" "native $nt" "-" "<= 4" "$([ "$gt" -le 4 ] && echo PASS || echo FAIL)"

#!/usr/bin/env bash
# P8: the interposer's overhead on single-threaded programs, native vs preloaded, same run.
#   tests/bench/bench_preload.sh [BUILD_DIR]   (default build-bench; builds grove-run if needed)
# 1. curl fetching 8 × 16 MiB from a local python3 http.server (client preloaded);
# 2. redis-benchmark (native) against redis-server, native vs preloaded server;
# 3. an unmodified thread-per-connection echo server (tests/interpose/tpc_echo_server.c), 200
#    connections of 64-byte ping-pong (echo_load), native vs preloaded: messages/s and open fds.
# Medians of RUNS runs (default 5); target: within 5 % of native.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}; [[ $build = /* ]] || build="$root/$build"
RUNS=${RUNS:-5}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" --buildtype=release >/dev/null
ninja -C "$build" interpose/grove-run interpose/libgrove_preload.so tests/interpose/tpc_echo_server_lfs \
  tests/bench/echo_load >/dev/null
run="$build/interpose/grove-run"
work=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# 1. curl
mkdir "$work/www"; for i in $(seq 8); do head -c $((16 << 20)) /dev/urandom >"$work/www/f$i"; done
port=$(free_port)
(cd "$work/www" && exec taskset -c 0 python3 -m http.server "$port" --bind 127.0.0.1) >/dev/null 2>&1 & pids+=($!)
wait_port "$port"
urls=(); for i in $(seq 8); do urls+=(-o /dev/null "http://127.0.0.1:$port/f$i"); done
fetch() { local t0 t1; t0=$(date +%s.%N); taskset -c 1 "$@" curl -sf "${urls[@]}" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
nat=(); pre=()
# The preload's cost, so both runs start the same way (env, then curl); grove-run's own exec (about
# a millisecond) is measured apart below.
pl="$build/interpose/libgrove_preload.so"
for r in $(seq "$RUNS"); do nat+=("$(fetch env)"); pre+=("$(fetch env LD_PRELOAD="$pl")"); done
cn=$(median "${nat[@]}"); cp=$(median "${pre[@]}")
echo "curl 8x16MiB seconds: native ${nat[*]} | preloaded ${pre[*]}"
startup() {  # mean microseconds for 100 starts of /bin/true as given
  local t0 t1; t0=$(date +%s%N); for _ in $(seq 100); do "$@" /bin/true; done; t1=$(date +%s%N); echo $(( (t1 - t0) / 100000 ))
}
echo "process start, /bin/true: native $(startup env) us, preloaded $(startup env LD_PRELOAD="$pl") us, through grove-run $(startup "$run" --) us"

# 2. redis
bench_redis() {  # $@: how to start the server; prints requests/s (SET+GET average)
  local p; p=$(free_port)
  taskset -c 0 "$@" redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & local pid=$!
  wait_port "$p"
  taskset -c 1 redis-benchmark -p "$p" -n 100000 -c 50 -q -t set,get 2>/dev/null |
    awk -F'[: ]+' '/requests per second/ {for (i=1;i<=NF;i++) if ($i ~ /^[0-9.]+$/) {s+=$i; n++; break}} END {print s/n}'
  kill $pid; wait $pid 2>/dev/null || true
}
rn=(); rp=()
for r in $(seq "$RUNS"); do rn+=("$(bench_redis env)"); rp+=("$(bench_redis "$run" --)"); done
mn=$(median "${rn[@]}"); mp=$(median "${rp[@]}")
echo "redis req/s: native ${rn[*]} | preloaded ${rp[*]}"

# 3. thread-per-connection server
bench_tpc() {  # $@: how to start the server; prints "msg/s fds"
  local out="$work/tpc.port" pid fds line
  taskset -c 0 "$@" "$build/tests/interpose/tpc_echo_server_lfs" >"$out" 2>/dev/null & pid=$!
  for _ in $(seq 200); do [ -s "$out" ] && break; sleep 0.05; done
  line=$(taskset -c 1 "$build/tests/bench/echo_load" "$(head -1 "$out")" 200 3 1 "$pid")
  fds=$(ls "/proc/$pid/fd" | wc -l)
  kill $pid; wait $pid 2>/dev/null || true
  echo "$(awk '{for (i=1;i<NF;i++) if ($i=="msg_per_s") print $(i+1)}' <<<"$line") $fds"
}
tn=(); tp=(); tfn=0; tfp=0
for r in $(seq "$RUNS"); do
  read -r m f < <(bench_tpc env); tn+=("$m"); tfn=$f
  read -r m f < <(bench_tpc "$run" --); tp+=("$m"); tfp=$f
done
tmn=$(median "${tn[@]}"); tmp=$(median "${tp[@]}")
echo "thread-per-connection msg/s: native ${tn[*]} | preloaded ${tp[*]}; open fds at the end: native $tfn, preloaded $tfp"

printf '\n%-34s %12s %12s %8s %8s\n' measure native preloaded ratio target
printf '%-34s %12.3f %12.3f %8.3f %8s\n' "P8 curl 8x16MiB (s, lower=better)" "$cn" "$cp" "$(echo "$cp / $cn" | bc -l)" "<=1.05"
printf '%-34s %12.0f %12.0f %8.3f %8s\n' "P8 redis SET+GET (req/s)" "$mn" "$mp" "$(echo "$mp / $mn" | bc -l)" ">=0.95"
printf '%-34s %12.0f %12.0f %8.3f %8s\n' "P8 thread-per-connection (msg/s)" "$tmn" "$tmp" "$(echo "$tmp / $tmn" | bc -l)" ">=0.95"
printf '%-34s %12d %12d\n' "   open fds, 200 connections" "$tfn" "$tfp"

# For tests/bench/run.sh's table: measure, grove, peer, ratio, target, result.
row() {  # measure preloaded native ratio target op limit
  printf 'ROW\t%s\t%s\t%s\t%.3f\t%s\t%s\n' "$1" "$2" "native $3" "$4" "$5" \
    "$(awk -v r="$4" -v op="$6" -v t="$7" 'BEGIN { ok = (op == "<=") ? r <= t : r >= t; print ok ? "PASS" : "FAIL" }')"
}
row "P8 curl 8x16MiB, s" "$cp" "$cn" "$(echo "$cp / $cn" | bc -l)" "ratio <= 1.05" "<=" 1.05
row "P8 redis SET+GET, req/s" "$mp" "$mn" "$(echo "$mp / $mn" | bc -l)" "ratio >= 0.95" ">=" 0.95
row "P8 thread-per-conn server, msg/s" "$tmp" "$tmn" "$(echo "$tmp / $tmn" | bc -l)" "ratio >= 0.95" ">=" 0.95

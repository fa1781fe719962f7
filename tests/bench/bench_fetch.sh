#!/usr/bin/env bash
# P6: downloading from a local nginx, 100 at a time — grove's two downloaders beside
# `curl --parallel --parallel-max 100` and a Go net/http downloader, in the same run.
#   tests/bench/bench_fetch.sh [BUILD_DIR]   (default build-bench, release)
# Sets: 1000 × 64 KiB and 8 × 16 MiB, each with every body written to a file (-o DIR) and with
# bodies discarded. Whole processes are timed (wall seconds), medians of RUNS (default 5) runs;
# the last lines give each sample's ratio to the faster peer (target: <= 1.00).
# Needs nginx and golang-go (apt-get install nginx-light golang-go). Loopback only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}; [[ $build = /* ]] || build="$root/$build"
RUNS=${RUNS:-5}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" --buildtype=release >/dev/null
ninja -C "$build" samples/fetch_curl samples/fetch >/dev/null
work=$(mktemp -d); nginx_pid=""
# Written bodies go to tmpfs when there is one: file creation on this VM's ext4 costs 0.03-0.7 ms
# of kernel time, varying minute to minute, and would measure the disk, not the downloaders.
# OUT_BASE=/some/dir to measure a real file system instead.
out_base=${OUT_BASE:-$( [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && echo /dev/shm || echo "$work")}
outdir=$(mktemp -d "$out_base/grove-fetch-out.XXXXXX")
trap '[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null; rm -rf "$work" "$outdir"' EXIT
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

mkdir -p "$work/www/small" "$work/www/big" "$work/tmp"
for i in $(seq 1000); do head -c 65536 /dev/urandom >"$work/www/small/f$i"; done
for i in $(seq 8); do head -c $((16 << 20)) /dev/urandom >"$work/www/big/f$i"; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
user root;  # the files live in a mktemp directory only root can read
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  sendfile on; keepalive_requests 100000;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" & nginx_pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done

(cd "$work" && cp "$here/fetch_go.go" . && GOFLAGS=-mod=mod GO111MODULE=off go build -o fetch_go fetch_go.go)

# One timed run of a downloader: mode "written" gives it an empty directory to fill, and checks
# afterwards that every file arrived whole.
run() {  # run MODE SET COMMAND... ; prints seconds
  local mode=$1 set=$2; shift 2
  rm -rf "$outdir"; mkdir "$outdir"
  local s; s=$(secs "$@")
  if [ "$mode" = written ]; then
    local want; want=$(wc -l <"$work/$set.urls")
    local got; got=$(find "$outdir" -type f -name 'f*' | wc -l)
    [ "$got" = "$want" ] || { echo "bench_fetch: $* wrote $got of $want files" >&2; echo FAIL; return; }
    cmp -s "$outdir/f$want" "$work/www/$set/f$want" || { echo "bench_fetch: $* wrote a wrong f$want" >&2; echo FAIL; return; }
  fi
  echo "$s"
}
go_fetch() { taskset -c 1 env GOMAXPROCS=1 "$work/fetch_go" 100 "$@" <"$work/$set.urls"; }

echo "P6: written bodies go to $out_base"
summary=(); rows=()
for set in small big; do
  n=$([ $set = small ] && echo 1000 || echo 8)
  for i in $(seq "$n"); do echo "http://127.0.0.1:$port/$set/f$i"; done >"$work/$set.urls"
  label=$([ $set = small ] && echo "1000 x 64 KiB" || echo "8 x 16 MiB")
  for mode in written discarded; do
    if [ $mode = written ]; then o=(-o "$outdir"); godir=("$outdir"); curl_out=(--output-dir "$outdir");
    else o=(); godir=(); curl_out=(); fi
    curl_args=(); while read -r u; do
      if [ $mode = written ]; then curl_args+=(-o "${u##*/}" "$u"); else curl_args+=(-o /dev/null "$u"); fi
    done <"$work/$set.urls"
    fc=(); ff=(); cp_=(); go_=()
    for r in $(seq "$RUNS"); do
      fc+=("$(run $mode $set taskset -c 1 "$build/samples/fetch_curl" -q -c 100 "${o[@]}" -i "$work/$set.urls")")
      ff+=("$(run $mode $set taskset -c 1 "$build/samples/fetch" -q -c 100 "${o[@]}" -i "$work/$set.urls")")
      cp_+=("$(run $mode $set taskset -c 1 curl -s --no-progress-meter --parallel --parallel-max 100 "${curl_out[@]}" "${curl_args[@]}")")
      go_+=("$(run $mode $set go_fetch "${godir[@]}")")
    done
    case " ${fc[*]} ${ff[*]} ${cp_[*]} ${go_[*]} " in *" FAIL "*) echo "bench_fetch: a run failed" >&2; exit 1;; esac
    echo "P6 $label $mode, seconds: fetch_curl ${fc[*]} | fetch ${ff[*]} | curl --parallel ${cp_[*]} | go ${go_[*]}"
    mfc=$(median "${fc[@]}"); mff=$(median "${ff[@]}"); mcp=$(median "${cp_[@]}"); mgo=$(median "${go_[@]}")
    peer=$(printf '%s\n' "$mcp" "$mgo" | sort -g | head -1)
    printf '%-14s %-9s fetch_curl %.3f  fetch %.3f  curl --parallel %.3f  go net/http (GOMAXPROCS=1) %.3f\n' \
      "$label" "$mode" "$mfc" "$mff" "$mcp" "$mgo"
    summary+=("$(printf '%-14s %-9s fetch_curl %.2fx  fetch %.2fx  the faster peer' "$label" "$mode" \
      "$(echo "$mfc / $peer" | bc -l)" "$(echo "$mff / $peer" | bc -l)")")
    for sample in fetch_curl fetch; do
      t=$([ $sample = fetch ] && echo "$mff" || echo "$mfc")
      r=$(echo "$t / $peer" | bc -l)
      rows+=("$(printf 'ROW\t%s\t%.3f\t%s\t%.2f\t%s\t%s' "P6 $sample $label $mode, s" "$t" \
        "$(printf 'curl %.3f go %.3f' "$mcp" "$mgo")" "$r" "<= the faster" \
        "$(awk -v r="$r" 'BEGIN { print (r <= 1.0) ? "PASS" : "FAIL" }')")")
    done
  done
done
echo "P6 time / the faster peer's (target <= 1.00):"
printf '  %s\n' "${summary[@]}"
# For tests/bench/run.sh's table: measure, grove, peer, ratio, target, result.
printf '%s\n' "${rows[@]}"

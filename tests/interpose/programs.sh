#!/usr/bin/env bash
# Real, unmodified Debian programs under grove-run: the same results as natively.
# Servers are started here on 127.0.0.1 with ports the kernel picks; every step has a timeout.
set -uo pipefail
run="$(realpath "$1")"  # path to grove-run
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; failures=$((failures + 1)); fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # wait until something listens on port $1 (bounded)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "nothing listens on port $1"; return 1
}
sum() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$work/www"
head -c $((1 << 20)) /dev/urandom >"$work/www/big.bin"
for i in $(seq 20); do head -c $((i * 997)) /dev/urandom >"$work/www/f$i.bin"; done
want=$(sum "$work/www/big.bin")

# --- clients under grove-run against a native python3 http.server ---------------------------
port=$(free_port)
(cd "$work/www" && exec python3 -m http.server "$port" --bind 127.0.0.1) >/dev/null 2>&1 &
pids+=($!)
wait_port "$port" || exit 1
url="http://127.0.0.1:$port/big.bin"

timeout 30 "$run" -- curl -sf -o "$work/curl.out" "$url"
check "curl exit code" 0 $?
check "curl download intact" "$want" "$(sum "$work/curl.out")"
timeout 30 "$run" -- wget -q -O "$work/wget.out" "$url"
check "wget exit code" 0 $?
check "wget download intact" "$want" "$(sum "$work/wget.out")"
got=$(timeout 30 "$run" -- python3 -c "
import hashlib, urllib.request
print(hashlib.sha256(urllib.request.urlopen('$url', timeout=20).read()).hexdigest())")
check "python3 urllib download intact" "$want" "$got"
py_socket="
import socket
s = socket.create_connection(('127.0.0.1', $port), timeout=20)
s.sendall(b'GET /f3.bin HTTP/1.0\r\n\r\n')
data = b''
while True:
    b = s.recv(65536)
    if not b: break
    data += b
print(data.split(b'\r\n')[0].decode(), len(data.split(b'\r\n\r\n', 1)[1]))"
check "python3 socket, same as native" "$(timeout 30 python3 -c "$py_socket")" "$(timeout 30 "$run" -- python3 -c "$py_socket")"
closed=$(free_port)
timeout 30 curl -s "http://127.0.0.1:$closed/" >/dev/null; native_rc=$?
timeout 30 "$run" -- curl -s "http://127.0.0.1:$closed/" >/dev/null; preload_rc=$?
check "curl connection refused exit code" "$native_rc" "$preload_rc"
timeout 10 "$run" -- sh -c 'exit 7'; check "exit code passes through" 7 $?

# --- grove-run's own errors: clear message, conventional exit code ---------------------------
msg=$("$run" 2>&1); rc=$?
check "grove-run without a program: exit 2" 2 "$rc"
check "grove-run without a program: says so" 1 "$(grep -c 'no program given' <<<"$msg")"
msg=$("$run" --frobnicate -- true 2>&1); rc=$?
check "grove-run bad option: exit 2" 2 "$rc"
check "grove-run bad option: names it" 1 "$(grep -c "unknown option '--frobnicate'" <<<"$msg")"
msg=$("$run" --log=loud -- true 2>&1); rc=$?
check "grove-run bad log level: exit 2" 2 "$rc"
msg=$("$run" -- /nonexistent/program 2>&1); rc=$?
check "grove-run missing program: exit 127" 127 "$rc"
check "grove-run missing program: names it" 1 "$(grep -c "cannot run '/nonexistent/program'" <<<"$msg")"
msg=$(GROVE_PRELOAD=/nonexistent/libgrove_preload.so "$run" -- true 2>&1); rc=$?
check "grove-run missing library: exit 127" 127 "$rc"
check "grove-run missing library: says where it looked" 1 "$(grep -c '/nonexistent/libgrove_preload.so' <<<"$msg")"
check "grove-run keeps an existing LD_PRELOAD" 1 \
  "$(LD_PRELOAD=libc.so.6 "$run" -- sh -c 'echo "$LD_PRELOAD"' | grep -c 'libgrove_preload.so:libc.so.6')"
check "grove-run --disable sets GROVE_DISABLE" 1 "$("$run" --disable -- sh -c 'echo $GROVE_DISABLE')"

# --- a python3 http.server under grove-run, 20 native curls at once --------------------------
port2=$(free_port)
(cd "$work/www" && exec "$run" -- python3 -m http.server "$port2" --bind 127.0.0.1) >/dev/null 2>&1 &
pids+=($!)
wait_port "$port2" || exit 1
seq 20 | timeout 60 xargs -P 20 -I{} curl -sf -o "$work/p{}.out" "http://127.0.0.1:$port2/f{}.bin"
check "20 parallel fetches from a preloaded http.server" 0 $?
bad=0
for i in $(seq 20); do [ "$(sum "$work/p$i.out" 2>/dev/null)" == "$(sum "$work/www/f$i.bin")" ] || bad=$((bad + 1)); done
check "all 20 files intact" 0 "$bad"

# --- redis-server under grove-run, native redis-cli and redis-benchmark ----------------------
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  rport=$(free_port)
  "$run" -- redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
  pids+=($!)
  wait_port "$rport" || exit 1
  check "redis SET" OK "$(timeout 10 redis-cli -p "$rport" set grove green)"
  check "redis GET" green "$(timeout 10 redis-cli -p "$rport" get grove)"
  timeout 60 redis-benchmark -p "$rport" -n 2000 -c 20 -q -t set,get,lpush,lpop >"$work/bench.out" 2>&1
  check "redis-benchmark against a preloaded server" 0 $?
  check "redis-benchmark ran 4 tests" 4 "$(grep -c 'requests per second' "$work/bench.out")"
  check "redis-cli under grove-run, same as native" "$(timeout 10 redis-cli -p "$rport" lrange nosuch 0 -1; echo $?)" \
    "$(timeout 10 "$run" -- redis-cli -p "$rport" lrange nosuch 0 -1; echo $?)"
else
  echo "FAIL redis-server/redis-benchmark missing (.ci/setup installs them)"
  failures=$((failures + 1))
fi

echo "$failures failures"
[ "$failures" -eq 0 ]

#!/usr/bin/env bash
# Real software other people built, run natively and under grove-run, results compared: psql
# against a throwaway PostgreSQL cluster, curl over HTTPS against nginx with a long keep-alive,
# socat EXEC:, bash's /dev/tcp, an unmodified thread-per-connection server (its fds and threads),
# stdio on a socket and one big sendfile() (helpers built with and without _FILE_OFFSET_BITS=64).
# Every server is started here, on 127.0.0.1 only, on a port the kernel picks; every step is
# bounded by `timeout` or a bounded readiness loop.
#
# usage: real_programs.sh PATH/TO/grove-run HELPER_DIR
#   HELPER_DIR holds tpc_echo_server_{lfs,nolfs}, stdio_socket_{lfs,nolfs}, sendfile_socket_{lfs,nolfs}
set -uo pipefail
run="$(realpath "$1")"
helpers="$(realpath "$2")"
pgbin=/usr/lib/postgresql/15/bin
work=$(mktemp -d)
chmod 711 "$work"  # the server users below must reach their own subdirectories
pids=()
stop() {  # stop PID [SIGNAL]: signal it, wait a bounded time, then SIGKILL
  kill -"${2:-TERM}" "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
cleanup() {
  for p in "${pids[@]}"; do stop "$p"; done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # until something listens on 127.0.0.1:$1, at most 10 s
  for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
# measure OUT LIMIT_S cmd...: runs cmd with stdout to OUT, stderr to OUT.err; sets rc and ms
measure() {
  local out="$1" limit="$2" t0
  shift 2
  t0=$(now_ms)
  timeout "$limit" "$@" >"$out" 2>"$out.err"
  rc=$?
  ms=$(( $(now_ms) - t0 ))
}
summary() { echo "$(wc -c <"$1") bytes, sha256 $(sha256sum "$1" | cut -c1-16)"; }
# same NAME LIMIT_S cmd...: native and under grove-run, same exit code and output; sets
# native_ms and grove_ms. A run that hit the limit is reported as such.
same() {
  local name="$1" limit="$2"
  shift 2
  measure "$work/native.out" "$limit" "$@"
  local nrc=$rc
  native_ms=$ms
  # Twice under grove-run: the program's threads without a hub (hooks pass through), and with
  # GROVE_MAIN_HUB=1 (its main thread's blocking calls on grove's cooperative paths). The second
  # run's output stays in grove.out for the checks that follow.
  local hub label
  for hub in 0 1; do
    label="$name"
    [ "$hub" -eq 1 ] && label="$name [main hub]"
    measure "$work/grove.out" "$limit" env GROVE_MAIN_HUB=$hub "$run" -- "$@"
    grove_ms=$ms
    [ "$rc" -eq 124 ] && fail "$label: under grove-run still running after ${limit} s (native: ${native_ms} ms, exit $nrc); output so far: $(summary "$work/grove.out"): $(head -c 200 "$work/grove.out" | tr '\n' ' ')"
    check "$label: exit code" "$nrc" "$rc"
    check "$label: output" "$(summary "$work/native.out")" "$(summary "$work/grove.out")"
    cmp -s "$work/native.out.err" "$work/grove.out.err" ||
      echo "     stderr under grove-run (differs from native): $(head -c 300 "$work/grove.out.err" | tr '\n' ' ')"
  done
  return 0
}
within() {  # within NAME MS LIMIT_MS
  if [ "$2" -lt "$3" ]; then ok "$1 (${2} ms < ${3} ms)"; else fail "$1: took ${2} ms, limit ${3} ms"; fi
}
as_user() {  # postgres refuses to run as root: drop to the postgres user (or nobody) when root
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  local u=postgres
  id "$u" >/dev/null 2>&1 || u=nobody
  setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- "$@"
}
owned_dir() {  # a directory the server user can write
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ]; then
    local u=postgres
    id "$u" >/dev/null 2>&1 || u=nobody
    chown "$u" "$1"
  fi
}

# --- psql (the real binary, not Debian's perl wrapper) against a throwaway cluster ------------
if [ -x "$pgbin/initdb" ] && [ -x "$pgbin/psql" ]; then
  owned_dir "$work/pg"
  pgport=$(free_port)
  if ! as_user "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres --no-sync -E UTF8 --locale=C >"$work/initdb.log" 2>&1; then
    fail "initdb: $(tail -3 "$work/initdb.log" | tr '\n' ' ')"
  else
    as_user "$pgbin/postgres" -D "$work/pg/data" -k "$work/pg" -p "$pgport" -c listen_addresses=127.0.0.1 \
      -c fsync=off -c logging_collector=off >"$work/pg/server.log" 2>&1 &
    pids+=($!)
    if ! wait_port "$pgport"; then
      fail "postgres did not listen on 127.0.0.1:$pgport within 10 s: $(tail -3 "$work/pg/server.log" | tr '\n' ' ')"
    else
      psql=("$pgbin/psql" -X -A -t -h 127.0.0.1 -p "$pgport" -U postgres -d postgres)
      for _ in $(seq 100); do timeout 5 "${psql[@]}" -c "select 1" >/dev/null 2>&1 && break; sleep 0.05; done
      same "psql select 42" 20 "${psql[@]}" -c "select 42"
      check "psql select 42: prints 42" 42 "$(cat "$work/native.out")"
      within "psql select 42 under grove-run exits promptly" "$grove_ms" 5000
      same "psql, a 2 MB result" 20 "${psql[@]}" -c "select repeat('x', 2000000)"
      check "psql, a 2 MB result: natively 2000001 bytes" 2000001 "$(wc -c <"$work/native.out")"
      within "psql, a 2 MB result, under grove-run exits promptly" "$grove_ms" 5000
      same "psql, two statements and an error" 20 "${psql[@]}" -c "select 1" -c "select * from nosuch" -c "select 2"
    fi
  fi
else
  fail "PostgreSQL 15 is missing ($pgbin; .ci/setup installs postgresql)"
fi

# --- curl -k over HTTPS against nginx keeping the connection alive for 75 s --------------------
if command -v nginx >/dev/null && command -v openssl >/dev/null; then
  mkdir -p "$work/nginx"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$work/nginx/key.pem" -out "$work/nginx/cert.pem" >/dev/null 2>&1 || fail "openssl req failed"
  tport=$(free_port)
  cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$tport ssl;
    ssl_certificate $work/nginx/cert.pem;
    ssl_certificate_key $work/nginx/key.pem;
    location / { return 200 "hello over TLS\n"; }
  }
}
EOF
  nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" >"$work/nginx/stdout" 2>&1 &
  pids+=($!)
  if ! wait_port "$tport"; then
    fail "nginx did not listen on 127.0.0.1:$tport within 10 s: $(tail -3 "$work/nginx/error.log" "$work/nginx/stdout" | tr '\n' ' ')"
  else
    same "curl -sk https://" 20 curl -sk "https://127.0.0.1:$tport/"
    check "curl -sk https://: the body" "hello over TLS" "$(cat "$work/native.out")"
    within "curl -sk https:// under grove-run exits about as fast as natively (${native_ms} ms)" "$grove_ms" $((native_ms + 2000))
    same "curl -sk, two URLs on one connection" 20 curl -sk "https://127.0.0.1:$tport/a" "https://127.0.0.1:$tport/b"
    within "curl -sk, two URLs, under grove-run about as fast as natively (${native_ms} ms)" "$grove_ms" $((native_ms + 2000))
  fi
else
  fail "nginx or openssl missing (.ci/setup installs nginx-light and openssl)"
fi

# --- socat TCP-LISTEN EXEC:cat under grove-run, a native client ------------------------------
# The client retries connecting for at most 10 s (the listener comes up asynchronously), sends
# 256 KiB from a thread while it reads, shuts down its side and prints what came back.
echo_client='
import hashlib, socket, sys, threading, time
port, size = int(sys.argv[1]), int(sys.argv[2])
data = bytes((i * 7) % 251 for i in range(size))
deadline = time.monotonic() + 10
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        break
    except ConnectionRefusedError:
        if time.monotonic() > deadline: sys.exit("nothing listens on port %d after 10 s" % port)
        time.sleep(0.02)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send, daemon=True).start()
got = b""
try:
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
except socket.timeout:
    print("client: no data for 15 s")
print(len(got), "bytes back, intact" if got == data else "bytes back, DIFFERENT from what was sent")'
if command -v socat >/dev/null; then
  for mode in native grove; do
    sport=$(free_port)
    prefix=()
    [ "$mode" == grove ] && prefix=("$run" --)
    timeout 20 "${prefix[@]}" socat "TCP-LISTEN:$sport,reuseaddr,bind=127.0.0.1" EXEC:cat >"$work/socat.$mode.err" 2>&1 &
    spid=$!
    timeout 20 python3 -c "$echo_client" "$sport" 262144 >"$work/socat.$mode" 2>&1
    wait "$spid"
    echo "socat exit $?" >>"$work/socat.$mode"
  done
  check "socat TCP-LISTEN EXEC:cat under grove-run: the echo and socat's exit" "$(cat "$work/socat.native")" "$(cat "$work/socat.grove")"
  [ -s "$work/socat.grove.err" ] && echo "     socat under grove-run said: $(head -c 300 "$work/socat.grove.err" | tr '\n' ' ')"
else
  fail "socat missing (.ci/setup installs it)"
fi

# --- bash /dev/tcp + cat <&3 under grove-run against a small native server --------------------
cat >"$work/line_server.py" <<'EOF'
# A native server: per connection, read one line, answer it, and 64 KiB more 200 ms later (a
# server that answers in two parts: the reader has to wait for the second), then close.
import socket, sys, threading, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(16)
print(l.getsockname()[1], flush=True)
def serve(c):
    with c:
        f = c.makefile("rb")
        line = f.readline()
        c.sendall(b"hello " + line)
        time.sleep(0.2)
        c.sendall(b"".join(b"%06d abcdefghijklmnopqrstuvwxyz\n" % i for i in range(2000)))
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
python3 "$work/line_server.py" >"$work/line_server.port" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/line_server.port" ] && break; sleep 0.05; done
lport=$(head -1 "$work/line_server.port")
same "bash /dev/tcp, printf >&3, cat <&3" 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$lport; printf 'grove\n' >&3; cat <&3"
check "bash /dev/tcp: natively the server's answer" "hello grove" "$(head -1 "$work/native.out")"
same "bash /dev/tcp, read -u 3 in bash itself" 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$lport; echo hi >&3; n=0; while read -r -u 3 l; do n=\$((n+1)); done; echo \$n lines"

# --- an unmodified thread-per-connection server: 50 connections open, fds and threads --------
hold_client='
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
good = 0
for i, s in enumerate(conns):
    msg = b"message %d from connection %d\n" % (i * 31, i)
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(4096)
        if not b: break
        got += b
    good += got == msg
print("echoed", good, "of", n, flush=True)
sys.stdin.read()  # hold every connection open until the test closes stdin'
declare -A fds threads res
for v in lfs nolfs; do
  for mode in native grove hub green; do
    prefix=()
    [ "$mode" == grove ] && prefix=("$run" --)
    [ "$mode" == hub ] && prefix=(env GROVE_MAIN_HUB=1 "$run" --)
    [ "$mode" == green ] && prefix=("$run" --green-threads --)
    rm -f "$work/tpc.port"  # the previous server's port must not be read as this one's
    "${prefix[@]}" "$helpers/tpc_echo_server_$v" >"$work/tpc.port" 2>"$work/tpc.err" &
    tpid=$!
    pids+=($tpid)
    for _ in $(seq 200); do [ -s "$work/tpc.port" ] && break; sleep 0.05; done
    coproc HOLD { timeout 30 python3 -c "$hold_client" "$(head -1 "$work/tpc.port")" 50; }
    read -r -t 20 -u "${HOLD[0]}" echoed || echoed="no answer from the client within 20 s"
    fds[$mode]=$(ls "/proc/$tpid/fd" 2>/dev/null | wc -l)
    threads[$mode]=$(ls "/proc/$tpid/task" 2>/dev/null | wc -l)
    res[$mode]="$echoed"
    eval "exec ${HOLD[1]}>&-"
    wait "$HOLD_PID" 2>/dev/null
    stop "$tpid"
    [ -s "$work/tpc.err" ] && echo "     tpc_echo_server_$v ($mode) said: $(head -c 300 "$work/tpc.err" | tr '\n' ' ')"
  done
  check "tpc_echo_server_$v natively: echoes on 50 connections" "echoed 50 of 50" "${res[native]}"
  check "tpc_echo_server_$v under grove-run: echoes on 50 connections" "echoed 50 of 50" "${res[grove]}"
  check "tpc_echo_server_$v under grove-run: open fds with 50 connections, as natively" "${fds[native]}" "${fds[grove]}"
  check "tpc_echo_server_$v under grove-run: threads with 50 connections, as natively" "${threads[native]}" "${threads[grove]}"
  # With the main thread's hub: its accept parks there (the hub's epoll fd and eventfd are the only
  # fds added); the connection threads never used grove and keep libc's calls.
  check "tpc_echo_server_$v with the main thread's hub: echoes on 50 connections" "echoed 50 of 50" "${res[hub]}"
  check "tpc_echo_server_$v with the main thread's hub: open fds, native + the hub's two" "$((fds[native] + 2))" "${fds[hub]}"
  # Green threads: the connection threads are greenlets of the main thread's hub.
  check "tpc_echo_server_$v as green threads: echoes on 50 connections" "echoed 50 of 50" "${res[green]}"
  check "tpc_echo_server_$v as green threads: one OS thread for 51 threads" 1 "${threads[green]}"
done

# --- CPython's own threads as green threads ----------------------------------------------------
py_threads='
import os, queue, socket, socketserver, sys, threading, time
lock, results = threading.Lock(), []
def work(i):
    time.sleep(0.05)
    with lock: results.append(i * i)
ts = [threading.Thread(target=work, args=(i,)) for i in range(50)]
for t in ts: t.start()
for t in ts: t.join()
print("50 threads:", sorted(results) == [i * i for i in range(50)])
q, got = queue.Queue(), []
def producer():
    for i in range(100): q.put(i)
    q.put(None)
def consumer():
    while (x := q.get()) is not None: got.append(x)
a, b = threading.Thread(target=producer), threading.Thread(target=consumer)
a.start(); b.start(); a.join(); b.join()
print("queue:", got == list(range(100)))
ev = threading.Event()
threading.Timer(0.05, ev.set).start()
print("event:", ev.wait(5), "timeout:", threading.Event().wait(0.05))
cond, items = threading.Condition(), []
def waiter():
    with cond:
        cond.wait_for(lambda: items)
        items.append("seen")
w = threading.Thread(target=waiter); w.start()
time.sleep(0.02)
with cond: items.append("x"); cond.notify_all()
w.join()
print("condition:", items)
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while (d := self.request.recv(4096)): self.request.sendall(d)
srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
def client(i, out):
    with socket.create_connection(srv.server_address, timeout=10) as s:
        msg = b"hello %d" % i
        s.sendall(msg); out.append(s.recv(100) == msg)
oks = []
cs = [threading.Thread(target=client, args=(i, oks)) for i in range(20)]
for c in cs: c.start()
for c in cs: c.join()
print("ThreadingTCPServer echoed:", sum(oks))
srv.shutdown()
print("os threads:", len(os.listdir("/proc/self/task")), file=sys.stderr)'
measure "$work/py_native.out" 30 /usr/bin/python3 -c "$py_threads"
measure "$work/py_green.out" 30 "$run" --green-threads -- /usr/bin/python3 -c "$py_threads"
check "python3 threading as green threads: exit code" 0 "$rc"
check "python3 threading as green threads: same results as native" "$(cat "$work/py_native.out")" "$(cat "$work/py_green.out")"
check "python3 threading as green threads: one OS thread" "os threads: 1" "$(cat "$work/py_green.out.err")"

# --- stdio on a socket, one sendfile() of 10 MiB: both builds ---------------------------------
for v in lfs nolfs; do
  same "stdio_socket_$v (fdopen + fgets/fputs on a TCP socket)" 20 "$helpers/stdio_socket_$v"
  [ "$(cat "$work/native.out")" == "$(cat "$work/grove.out")" ] || diff "$work/native.out" "$work/grove.out" | head -12 | sed 's/^/     /'
  same "sendfile_socket_$v (one sendfile of 10 MiB to a blocking socket)" 20 "$helpers/sendfile_socket_$v" "$work"
  check "sendfile_socket_$v natively: the full count" "sendfile: 10485760" "$(grep '^sendfile: ' "$work/native.out")"
  check "sendfile_socket_$v under grove-run: the full count" "sendfile: 10485760" "$(grep '^sendfile: ' "$work/grove.out")"
done

echo "$failures failures"
[ "$failures" -eq 0 ]

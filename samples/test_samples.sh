#!/usr/bin/env bash
# End-to-end tests of the samples against servers started here on 127.0.0.1.
#
#   test_samples.sh BUILD_SAMPLES_DIR CASE [FETCHER]
#
# CASE: integrity, keepalive, retries, timeout, concurrency, chunked_redirect, bad_input (with FETCHER =
# fetch_curl or fetch), serve_files, echo, echo_threads, serve_files_threads (--threads 2, both
# --accept modes). Every command runs under `timeout`; servers are waited
# for by polling their "listening on" line, never by sleeping a fixed time.
set -euo pipefail
bin="$1"
case_="$2"
fetcher="${3:-fetch_curl}"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# start_server NAME ARGS... : starts it, waits for "listening on HOST:PORT", sets $port.
start_server() {
  local name="$1"; shift
  # A previous server's output must not be read as this one's "listening on" line.
  rm -f "$work/$name.out" "$work/$name.err"
  "$bin/$name" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 100); do
    if line=$(grep -m1 '^listening on ' "$work/$name.out" 2>/dev/null); then
      port="${line##*:}"
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || fail "$name exited: $(cat "$work/$name.err")"
    sleep 0.05
  done
  fail "$name did not print 'listening on' within 5 s"
}

# make_files N: N files of varied sizes (1 B … ~300 KiB) in $work/root.
make_files() {
  mkdir -p "$work/root" "$work/out"
  for i in $(seq 1 "$1"); do
    head -c $(( (i * 7919) % 300000 + 1 )) /dev/urandom >"$work/root/f$i.bin"
  done
}

same_files() {
  (cd "$work/root" && sha256sum -- * | sort) >"$work/want"
  (cd "$work/out" && sha256sum -- * | sort) >"$work/got"
  diff -u "$work/want" "$work/got" >&2 || fail "downloaded files differ from the originals"
  if ls -A "$work/out" | grep -q '^\.'; then fail "temporary files left behind: $(ls -A "$work/out")"; fi
}

urls() {  # urls N PREFIX
  for i in $(seq 1 "$1"); do echo "http://127.0.0.1:$port$2f$i.bin"; done >"$work/urls"
}

fetch() { timeout 30 "$bin/$fetcher" "$@"; }

# echo_client against the server on $port (50 messages of 64 B over $2 connections); fails unless
# it exits 0 having echoed messages. $1 names the server in the failure.
echo_round_trips() {
  local rc=0 rate
  timeout 20 "$bin/echo_client" -p "$port" -n 50 -s 64 -t "$2" >"$work/log" 2>&1 || rc=$?
  cat "$work/log"
  [ "$rc" -eq 0 ] || fail "echo_client against $1: exit $rc"
  rate=$(sed -n 's/.* \([0-9.]*\) msg\/s.*/\1/p' "$work/log")
  awk -v r="${rate:-0}" 'BEGIN { exit !(r > 0) }' || fail "$1: no messages echoed"
}

case "$case_" in
  integrity)
    make_files 60
    start_server serve_files "$work/root"
    urls 60 /
    fetch -q -c 16 -i "$work/urls" -o "$work/out" || fail "$fetcher exited $?"
    same_files
    ;;
  chunked_redirect)
    make_files 30
    start_server serve_files --chunked "$work/root"
    for i in $(seq 1 30); do echo "http://127.0.0.1:$port/redirect?to=/f$i.bin"; done >"$work/urls"
    # Every body arrives through a 302 (the bodies are checked byte for byte below, chunked).
    fetch -q -c 8 -i "$work/urls" >"$work/log" || fail "$fetcher exited $? on chunked redirects"
    grep -q "30 ok, 0 failed" "$work/log" || fail "unexpected summary: $(cat "$work/log")"
    urls 30 /
    fetch -q -c 8 -i "$work/urls" -o "$work/out" || fail "$fetcher exited $? on chunked bodies"
    same_files
    # A redirect loop ends with an error, not a hang.
    if fetch --retries 0 "http://127.0.0.1:$port/redirect-loop" >/dev/null 2>"$work/err"; then
      fail "a redirect loop succeeded"
    fi
    grep -qi redirect "$work/err" || fail "no redirect error: $(cat "$work/err")"
    ;;
  retries)
    make_files 3
    for hook in --fail-first --reset-first; do
      start_server serve_files "$hook" 1 "$work/root"
      if fetch --retries 0 "http://127.0.0.1:$port/f1.bin" >"$work/log" 2>&1; then
        fail "$hook 1 with --retries 0 succeeded: $(cat "$work/log")"
      fi
      grep -q FAILED "$work/log" || fail "no failure reported: $(cat "$work/log")"
      fetch --retries 2 -o "$work/out" "http://127.0.0.1:$port/f2.bin" >"$work/log" 2>&1 ||
        fail "$hook 1 with --retries 2 failed: $(cat "$work/log")"
      cmp "$work/root/f2.bin" "$work/out/f2.bin" || fail "retried download differs"
      kill "${pids[-1]}"
    done
    ;;
  timeout)
    make_files 1
    start_server serve_files --delay-ms 3000 "$work/root"
    start=$(date +%s%N)
    rc=0
    fetch --timeout 1 --retries 0 -o "$work/out" "http://127.0.0.1:$port/f1.bin" >"$work/log" 2>&1 || rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$rc" -eq 1 ] || fail "exit status $rc, want 1: $(cat "$work/log")"
    grep -qi "FAILED.*time" "$work/log" || fail "no timeout reported: $(cat "$work/log")"
    [ "$ms" -lt 2500 ] || fail "took $ms ms with --timeout 1"
    [ -z "$(ls -A "$work/out")" ] || fail "partial file left: $(ls -A "$work/out")"
    ;;
  keepalive)
    # Connections are reused: 60 downloads, 4 at a time, need at most 4 connections.
    make_files 60
    start_server serve_files --log-connections "$work/root"
    urls 60 /
    fetch -q -c 4 -i "$work/urls" -o "$work/out" || fail "$fetcher exited $?"
    same_files
    n=$(grep -c '^connection ' "$work/serve_files.out" || true)
    echo "60 downloads, -c 4: $n connections"
    [ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "$n connections for 60 downloads at -c 4 (want 1 to 4: keep-alive)"
    ;;
  concurrency)
    make_files 100
    start_server serve_files --delay-ms 200 "$work/root"
    urls 100 /
    start=$(date +%s%N)
    fetch -q -c 100 -i "$work/urls" >"$work/log" || fail "$fetcher exited $?: $(cat "$work/log")"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "100 downloads, 200 ms each, -c 100: $ms ms"
    [ "$ms" -lt 1500 ] || fail "took $ms ms (one at a time would be 20 s; want < 1.5 s)"
    ;;
  bad_input)
    rc=0; "$bin/$fetcher" -c 0 http://127.0.0.1:1/x >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "-c 0: exit $rc, want 2"
    grep -qi concurrency "$work/err" || fail "-c 0: unclear message: $(cat "$work/err")"
    rc=0; "$bin/$fetcher" >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "no URLs: exit $rc, want 2"
    rc=0; fetch --retries 0 'not a url' >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" -eq 1 ] && grep -q "FAILED not a url" "$work/err" || fail "bad URL: exit $rc: $(cat "$work/err")"
    # A port nobody listens on (bound, never listened: nothing else can take it meanwhile).
    rc=0; fetch --retries 1 http://127.0.0.1:1/x >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" -eq 1 ] && grep -qi "connect" "$work/err" || fail "unreachable: exit $rc: $(cat "$work/err")"
    if [ "$fetcher" = fetch ]; then
      rc=0; fetch https://127.0.0.1:1/x >/dev/null 2>"$work/err" || rc=$?
      [ "$rc" -ne 0 ] && grep -qi "https" "$work/err" || fail "https: exit $rc: $(cat "$work/err")"
    fi
    ;;
  serve_files)
    make_files 2
    echo secret >"$work/outside"
    start_server serve_files "$work/root"
    base="http://127.0.0.1:$port"
    code() { timeout 10 curl -s -o /dev/null -w '%{http_code}' "$@"; }
    [ "$(code "$base/f1.bin")" = 200 ] || fail "GET"
    [ "$(code -I "$base/f1.bin")" = 200 ] || fail "HEAD"
    [ "$(code "$base/missing")" = 404 ] || fail "404"
    [ "$(code -X POST "$base/f1.bin")" = 405 ] || fail "405"
    [ "$(code --path-as-is "$base/../outside")" != 200 ] || fail "escaped the root with ../"
    [ "$(code "$base/%2e%2e/outside")" != 200 ] || fail "escaped the root with %2e%2e"
    ln -s "$work/outside" "$work/root/link"
    [ "$(code "$base/link")" = 404 ] || fail "escaped the root through a symlink"
    # Keep-alive: two requests on one connection (curl reports one connect for both).
    n=$(timeout 10 curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' "$base/f1.bin" "$base/f2.bin" | awk '{ n += $1 } END { print n }')
    [ "$n" = 1 ] || fail "keep-alive: $n connects for two requests"
    rc=0; "$bin/serve_files" "$work/nonexistent" >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" -ne 0 ] && grep -q nonexistent "$work/err" || fail "bad root: exit $rc"
    ;;
  echo)
    start_server echo_server
    echo_round_trips "echo_server" 2
    rc=0; timeout 10 "$bin/echo_client" -p 1 -n 1 -t 1 >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" -ne 0 ] || fail "echo_client to a closed port succeeded"
    ;;
  echo_threads)
    for mode in per-hub handout; do
      start_server echo_server --threads 2 --accept "$mode"
      tasks=$(ls "/proc/${pids[-1]}/task" | wc -l)
      [ "$tasks" -ge 3 ] || fail "--threads 2: $tasks threads (want main + 2 hubs)"
      echo_round_trips "--accept $mode" 1
      kill "${pids[-1]}"
    done
    rc=0; "$bin/echo_server" --threads 0 >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "--threads 0: exit $rc, want 2"
    rc=0; "$bin/echo_server" --accept sideways >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "--accept sideways: exit $rc, want 2"
    ;;
  serve_files_threads)
    make_files 60
    for mode in per-hub handout; do
      rm -rf "$work/out" && mkdir -p "$work/out"
      start_server serve_files --threads 2 --accept "$mode" "$work/root"
      urls 60 /
      fetch -q -c 16 -i "$work/urls" -o "$work/out" || fail "$fetcher against --accept $mode exited $?"
      same_files
      kill "${pids[-1]}"
    done
    ;;
  *)
    fail "unknown case $case_"
    ;;
esac
echo "ok: $case_ $fetcher"

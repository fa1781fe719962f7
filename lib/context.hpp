// context.hpp — everything grove keeps per OS thread, in one record.
//
// As in libdill's ctx, per-thread state lives in one place instead of thread_locals scattered
// over the files that use it. ThreadContext is plain data in initial-exec TLS: the switch path,
// the hooks and signal handlers reach it with one load, with no TLS init guard and no
// __tls_get_addr. It holds pointers only; each subsystem owns what they point to.
//
// Order: the hub comes first (every other part needs it) and goes last. Parts set up later on
// the thread — the DNS channel, the root greenlet's locals, the offload link — register a
// teardown with at_thread_exit() when they first set up, and run in reverse order of that when
// the thread exits, before the hub is deleted.
#pragma once

#include <csignal>

namespace grove::detail {

class Hub;

struct ThreadContext {
  Hub* hub;  // created by the thread's first grove call; a thread that never makes one has none

  // Signal handlers (the interposer's trampoline, through nothrow::signal_begin): how many ran
  // since the hub last looked, and whether one of them was installed without SA_RESTART.
  volatile sig_atomic_t signals;
  volatile sig_atomic_t no_restart;
  // The innermost handler running now: its trampoline's frame and the greenlet it interrupted.
  // Code on that greenlet's stack below that frame is inside the handler, where hooks never park.
  // (A frame address, not a depth counter: a handler that leaves by siglongjmp must not leave
  // the thread marked as "in a handler" for ever.)
  void* volatile handler_frame;
  void* volatile handler_greenlet;
  // (Whether the hub is asleep in its poller — what a handler checks before waking it — is the
  // hub's inbox word, inbox.hpp: other threads read it too, and it must outlive this record.)

  bool own_thread_starting;  // grove starts one of its own threads (OwnThreadStart below)
  int tid;              // green_thread.cpp: the thread's id, cached (0: not yet; reset by fork)
  void* key_values;     // green_keys.cpp: pthread key values of the OS thread's own code
  bool altstack;        // stack_guard.cpp: the alternate signal stack is installed
  bool in_libc_lookup;  // resolve_foreign.cpp: this offload worker runs libc's own resolver
  void* root_locals;    // local.cpp: grove::local values of the root and hub greenlets
  void* offload_link;   // offload.cpp: where offload workers post completions for this hub
  // Parts made on first use with thread_part<> below:
  void* dns;            // dns_request.cpp: the thread's resolver and its configuration
  void* hosts_cache;    // resolve_hosts.cpp: the parsed hosts file
  void* nss_cache;      // resolve_nss.cpp: the parsed nsswitch.conf
  void* static_host;    // dns_c.cpp: storage behind gethostbyname() & co.
};

// constinit: no dynamic initialisation, so every access is one %fs-relative load, without the
// TLS wrapper call a thread_local of another file costs otherwise.
extern thread_local constinit ThreadContext tl_ctx __attribute__((tls_model("initial-exec")));

// Runs fn(arg) when the thread exits, after the teardowns registered later and before the hub
// is deleted. Registering the same (fn, arg) again does nothing. At most a handful per thread
// (one per subsystem).
void at_thread_exit(void (*fn)(void*), void* arg);

// While alive, threads this thread creates are grove's own: never green threads, whatever the
// interposer's mode (offload workers, hub groups, the monitor).
struct OwnThreadStart {
  OwnThreadStart() noexcept { tl_ctx.own_thread_starting = true; }
  ~OwnThreadStart() { tl_ctx.own_thread_starting = false; }
  OwnThreadStart(const OwnThreadStart&) = delete;
  OwnThreadStart& operator=(const OwnThreadStart&) = delete;
};

// The thread's T kept in field Slot of its context: made on first use, destroyed at thread exit
// (in reverse order of first use, before the hub).
template <class T, void* ThreadContext::*Slot>
T& thread_part() {
  void*& p = tl_ctx.*Slot;
  if (!p) {
    auto* t = new T();
    at_thread_exit(
        [](void* x) {
          tl_ctx.*Slot = nullptr;
          delete static_cast<T*>(x);
        },
        t);
    p = t;
  }
  return *static_cast<T*>(p);
}

}  // namespace grove::detail

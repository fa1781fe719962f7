// signals.cpp — sigaction and signal: knowing when a handler runs.
//
// A blocking call the program makes is, under grove, a park while the thread sleeps in the
// hub's epoll_wait. When a signal handler runs, the kernel would end the real call with EINTR,
// or restart it under SA_RESTART; to do the same, every handler the program installs is wrapped
// in a trampoline that tells grove (nothrow::signal_begin, async-signal-safe: it also wakes a hub
// about to sleep, so no signal waits for the next event to be noticed) before calling the
// program's handler. Hooks called from inside the handler go to libc: nothing parks in a handler.
// sigaction's old-action answers show the program its own handler, never the trampoline.
//
// glibc's own entry points __sigaction and __libc_sigaction are not exported here: grove uses the
// former to install its stack-overflow handler unwrapped, and no program imports them.
#include <signal.h>

#include <atomic>
#include <cstring>

#include "hook.hpp"

using namespace grove::interpose;

namespace {

struct Installed {
  struct sigaction user;         // what the program asked for
  std::atomic<bool> wrapped{false};
};
Installed g_installed[NSIG];

bool is_function(const struct sigaction& sa) noexcept {
  if (sa.sa_flags & SA_SIGINFO) return sa.sa_sigaction != nullptr;
  return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

void trampoline(int sig, siginfo_t* info, void* ctx) {
  Installed& in = g_installed[sig];
  const struct sigaction user = in.user;
  if (user.sa_flags & SA_RESETHAND) in.wrapped.store(false, std::memory_order_relaxed);  // now SIG_DFL
  const int saved_errno = errno;  // a handler must not change errno, and grove's part must not either
  const grove::nothrow::SignalFrame outer = grove::nothrow::signal_begin(user.sa_flags & SA_RESTART, __builtin_frame_address(0));
  errno = saved_errno;
  if (user.sa_flags & SA_SIGINFO)
    user.sa_sigaction(sig, info, ctx);
  else
    user.sa_handler(sig);
  grove::nothrow::signal_end(outer);
}

// signal() with the given flags, through the hooked sigaction so the handler is wrapped.
sighandler_t install(int sig, sighandler_t handler, int flags) {
  struct sigaction sa, old;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (!(flags & SA_NODEFER) && sig > 0 && sig < NSIG) sigaddset(&sa.sa_mask, sig);
  if (sigaction(sig, &sa, &old) != 0) return SIG_ERR;
  return old.sa_handler;  // shares storage with sa_sigaction, as glibc's own signal() returns it
}

}  // namespace

extern "C" {

int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  if (real::disabled || sig <= 0 || sig >= NSIG) return real::sigaction(sig, act, old);
  Installed& in = g_installed[sig];
  const bool was_wrapped = in.wrapped.load(std::memory_order_acquire);
  const struct sigaction previous_user = in.user;
  struct sigaction kernel_old;
  int r;
  if (act && is_function(*act)) {
    struct sigaction mine = *act;
    mine.sa_flags |= SA_SIGINFO;
    mine.sa_sigaction = trampoline;
    // Block the signal while in.user changes, so the trampoline never reads it half-written.
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, sig);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    in.user = *act;
    r = real::sigaction(sig, &mine, &kernel_old);
    if (r == 0)
      in.wrapped.store(true, std::memory_order_release);
    else
      in.user = previous_user;
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  } else {
    r = real::sigaction(sig, act, &kernel_old);
    if (r == 0 && act) in.wrapped.store(false, std::memory_order_release);
  }
  if (r == 0 && old) *old = was_wrapped && kernel_old.sa_sigaction == trampoline ? previous_user : kernel_old;
  return r;
}

// glibc's signal() and bsd_signal(): BSD semantics, i.e. SA_RESTART, the signal blocked while its
// handler runs.
sighandler_t signal(int sig, sighandler_t handler) { return install(sig, handler, SA_RESTART); }

// sysv_signal(): System V semantics, the handler reset to SIG_DFL when it runs, not blocked, no
// restart (zstd imports it as __sysv_signal).
sighandler_t sysv_signal(int sig, sighandler_t handler) { return install(sig, handler, SA_RESETHAND | SA_NODEFER); }

}  // extern "C"

GROVE_ALIAS(signal, bsd_signal)
GROVE_ALIAS(sysv_signal, __sysv_signal)

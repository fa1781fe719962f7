// process.cpp — waiting for child processes and system(3), parking only the calling greenlet.
//
// A wait is "try with WNOHANG, and if no child has changed state yet, wait for one to, then try
// again" — the same shape as every fd call. How to wait without reaping:
//   * one child, exits only (the common waitpid(pid, &st, 0)): its pidfd (pidfd_open, Linux 5.3)
//     becomes readable when it exits; the greenlet waits on it like on any fd. Not once the
//     program has called ptrace(2): a traced child also reports its ptrace stops to wait4, which
//     no pidfd tells (strace run with the main thread's hub hung on that);
//   * any child, a process group, or stopped/continued children: no fd says so, so a worker of the
//     offload pool blocks in waitid(…, WNOWAIT), which reaps nothing, and the greenlet waits for
//     that worker. A kill leaves that worker waiting until some child changes state; nothing is
//     reaped on the greenlet's behalf, so the program's next wait still sees the child.
// Signals interrupt the pidfd wait as they do waitpid (EINTR, or a restart under SA_RESTART);
// the offloaded wait is not interrupted by them (a documented difference).
//
// system(3) is glibc's algorithm with the wait made cooperative: SIGINT and SIGQUIT ignored and
// SIGCHLD blocked while any greenlet of the process is in system() (counted, as glibc counts
// threads), /bin/sh -c spawned with the caller's signal mask and default SIGINT/SIGQUIT, exit
// status as waitpid reports it, 127 << 8 when the shell cannot be run. A greenlet killed or timed
// out while waiting kills the shell (SIGKILL) and reaps it, as glibc does on thread cancellation.
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <new>
#include <pthread.h>

#include "fd_call.hpp"
#include "grove/errors.hpp"
#include "grove/nothrow.hpp"
#include "grove/offload.hpp"
#include "hub.hpp"
#include "sys.hpp"

extern char** environ;

namespace grove::nothrow {

namespace {

constexpr idtype_t kPidfd = static_cast<idtype_t>(3);  // P_PIDFD (Linux 5.4), not in this glibc's enum

using detail::Outcome;
using detail::Result;

long raw_wait4(pid_t pid, int* status, int options, rusage* ru) noexcept {
  return sys::detail::call(SYS_wait4, pid, status, options, ru);
}

long raw_waitid(idtype_t type, id_t id, siginfo_t* info, int options) noexcept {
  return sys::detail::call(SYS_waitid, type, id, info, options, nullptr);
}

long to_errno(const Result& r) noexcept {
  switch (r.outcome) {
    case Outcome::killed: return -ECANCELED;
    case Outcome::timeout: return -ETIMEDOUT;
    case Outcome::interrupted: return -EINTR;
    case Outcome::failed: return -r.err;
    default: return -EINTR;
  }
}

// Until the child `pid` may have exited: 0 (look again), or -EINTR, -ECANCELED, -ETIMEDOUT.
long wait_exit_of(pid_t pid) noexcept {
  const long pidfd = sys::detail::call(SYS_pidfd_open, pid, 0);
  if (pidfd == -ESRCH) return 0;  // gone already: the next try reaps it
  if (pidfd < 0) return pidfd;
  const int fd = static_cast<int>(pidfd);
  Result r;
  try {
    r = detail::fd_wait(fd, detail::Interest::read, detail::kNever, detail::kLibcPolicy, "waitpid");
  } catch (...) {
    r = Result::failed(ENOMEM);
  }
  detail::Hub::fd_closing(fd);
  sys::close(fd);
  return r.ok() ? 0 : to_errno(r);
}

// Until some child matching (type, id, flags) may have changed state, without reaping it: 0, or
// -ECANCELED, -ETIMEDOUT, -errno.
long wait_change_offloaded(idtype_t type, id_t id, int flags) noexcept {
  try {
    const long r = grove::offload([=] {
      siginfo_t si{};
      long e;
      do e = raw_waitid(type, id, &si, flags | WNOWAIT);
      while (e == -EINTR);
      return e;
    });
    return r == -ECHILD ? 0 : r;  // the try that follows reports ECHILD itself
  } catch (const GreenletExit&) {
    return -ECANCELED;
  } catch (const TimeoutError&) {
    return -ETIMEDOUT;
  } catch (...) {
    return -ENOMEM;
  }
}

// Which children a wait4-style pid designates, as waitid's (type, id).
void designate(pid_t pid, idtype_t* type, id_t* id) noexcept {
  if (pid < -1) {
    *type = P_PGID;
    *id = static_cast<id_t>(-pid);
  } else if (pid == -1) {
    *type = P_ALL;
    *id = 0;
  } else if (pid == 0) {
    *type = P_PGID;
    *id = static_cast<id_t>(::getpgrp());
  } else {
    *type = P_PID;
    *id = static_cast<id_t>(pid);
  }
}

std::atomic<bool> g_ptrace_used{false};

// Waits for a state change of what (type, id, waitid_flags) designates.
long wait_change(idtype_t type, id_t id, int waitid_flags) noexcept {
  const bool exits_only = (waitid_flags & (WSTOPPED | WCONTINUED)) == 0 && !g_ptrace_used.load(std::memory_order_relaxed);
  if (type == P_PID && exits_only) return wait_exit_of(static_cast<pid_t>(id));
  if (type == kPidfd && exits_only) {
    Result r;
    try {
      r = detail::fd_wait(static_cast<int>(id), detail::Interest::read, detail::kNever, detail::kLibcPolicy, "waitid");
    } catch (...) {
      r = Result::failed(ENOMEM);
    }
    return r.ok() ? 0 : to_errno(r);
  }
  return wait_change_offloaded(type, id, waitid_flags);
}

}  // namespace

void ptrace_used() noexcept { g_ptrace_used.store(true, std::memory_order_relaxed); }

pid_t wait4(pid_t pid, int* status, int options, rusage* ru) noexcept {
  // WNOHANG never waits; __WNOTHREAD (children of this very thread) cannot be waited for elsewhere.
  if (options & (WNOHANG | __WNOTHREAD)) return static_cast<pid_t>(raw_wait4(pid, status, options, ru));
  idtype_t type;
  id_t id;
  designate(pid, &type, &id);
  int flags = WEXITED | (options & (__WALL | __WCLONE));
  if (options & WUNTRACED) flags |= WSTOPPED;
  if (options & WCONTINUED) flags |= WCONTINUED;
  for (;;) {
    const long r = raw_wait4(pid, status, options | WNOHANG, ru);
    if (r != 0) return static_cast<pid_t>(r);  // a child changed state, or an error (ECHILD…)
    if (const long w = wait_change(type, id, flags); w < 0) return static_cast<pid_t>(w);
  }
}

int waitid(idtype_t type, id_t id, siginfo_t* info, int options) noexcept {
  if (options & (WNOHANG | __WNOTHREAD)) return static_cast<int>(raw_waitid(type, id, info, options));
  for (;;) {
    info->si_pid = 0;
    const long r = raw_waitid(type, id, info, options | WNOHANG);
    if (r < 0 || info->si_pid != 0) return static_cast<int>(r);
    if (const long w = wait_change(type, id, options); w < 0) return static_cast<int>(w);
  }
}

namespace {

// system(3)'s signal bookkeeping, shared by every greenlet and thread inside system() at once.
std::mutex g_system_mu;
int g_system_users = 0;
struct sigaction g_saved_int, g_saved_quit;

// In the child of fork(), no greenlet of the parent is inside system() any more, and the lock may
// have been held by another thread at fork time.
__attribute__((constructor)) void reset_system_in_children() {
  ::pthread_atfork(nullptr, nullptr, [] {
    new (&g_system_mu) std::mutex;
    g_system_users = 0;
  });
}

}  // namespace

int system(const char* command, int* err) noexcept {
  *err = 0;
  if (!command) return system("exit 0", err) == 0;  // is a shell available?
  struct sigaction ignore{};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigset_t defaults;  // what the shell gets back: the dispositions the program had
  sigemptyset(&defaults);
  {
    std::lock_guard lock(g_system_mu);
    if (g_system_users++ == 0) {
      ::sigaction(SIGINT, &ignore, &g_saved_int);
      ::sigaction(SIGQUIT, &ignore, &g_saved_quit);
    }
    if (g_saved_int.sa_handler != SIG_IGN) sigaddset(&defaults, SIGINT);
    if (g_saved_quit.sa_handler != SIG_IGN) sigaddset(&defaults, SIGQUIT);
  }
  sigset_t chld, saved_mask;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::pthread_sigmask(SIG_BLOCK, &chld, &saved_mask);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &saved_mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  char sh[] = "sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(command), nullptr};
  pid_t pid;
  const int spawn_err = ::posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);

  int result;
  if (spawn_err != 0) {
    result = W_EXITCODE(127, 0);  // POSIX: as if the shell had run and exited with 127
    *err = spawn_err;
  } else {
    int status = 0;
    long r;
    do r = wait4(pid, &status, 0, nullptr);
    while (r == -EINTR);
    if (r == -ECANCELED || r == -ETIMEDOUT) {
      ::kill(pid, SIGKILL);
      raw_wait4(pid, &status, 0, nullptr);
    }
    result = r < 0 ? -1 : status;
    if (r < 0) *err = static_cast<int>(-r);
  }

  {
    std::lock_guard lock(g_system_mu);
    if (--g_system_users == 0) {
      ::sigaction(SIGINT, &g_saved_int, nullptr);
      ::sigaction(SIGQUIT, &g_saved_quit, nullptr);
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  return result;
}

}  // namespace grove::nothrow

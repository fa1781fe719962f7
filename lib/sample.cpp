// sample.cpp — the running greenlet of another thread's hub, and its stack (see sample.hpp).
//
// One sample at a time, through one slot: the monitor fills in the target and sets `requested`,
// sends the signal with tgkill, and waits on its eventfd. The handler, on the hub's thread, takes
// the slot (requested → taking) only if that thread's hub is the target — a thread id reused by
// another thread, or a handler that runs late after the monitor gave up (it sets the slot back
// to idle when its wait ends), finds nothing to do. The handler then records the greenlet, unwinds
// the interrupted stack, publishes (taken) and writes the eventfd. Everything it touches is the
// slot, its own thread's context and the stack: no allocation, no lock.
#include "sample.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "hub.hpp"
#include "sys.hpp"

extern "C" int __sigaction(int, const struct sigaction*, struct sigaction*);

namespace grove::detail {

namespace {

enum : int { kIdle, kRequested, kTaking, kTaken };

struct Slot {
  std::atomic<int> state{kIdle};
  std::atomic<const Hub*> target{nullptr};
  std::atomic<int> notify_fd{-1};
  // Written by the handler between taking and taken, read by the monitor after taken.
  std::uint64_t greenlet_id = 0;
  char name[64] = {};
  bool switching = false;
  backtrace::Trace trace;
};
Slot g_slot;

std::once_flag g_install_once;
const char* g_not_ready = "not installed";

void on_sample(int, siginfo_t* info, void* uc) {
  if (info->si_code != SI_TKILL || info->si_pid != ::getpid()) return;  // only grove's monitor sends it
  const int saved_errno = errno;
  const Hub* hub = tl_ctx.hub;
  int expected = kRequested;
  if (hub && hub == g_slot.target.load(std::memory_order_acquire) &&
      g_slot.state.compare_exchange_strong(expected, kTaking, std::memory_order_acq_rel)) {
    const GreenletCore* g = hub->current();
    g_slot.greenlet_id = g->id;
    const std::size_t n = g->name.size() < sizeof g_slot.name - 1 ? g->name.size() : sizeof g_slot.name - 1;
    std::memcpy(g_slot.name, g->name.data(), n);
    g_slot.name[n] = '\0';
    const auto sp = reinterpret_cast<const char*>(static_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_RSP]);
    g_slot.switching = !g->is_root && !(sp >= g->stack.bottom() && sp < g->stack.top());
    backtrace::of_signal(uc, g_slot.trace);
    g_slot.state.store(kTaken, std::memory_order_release);
    const std::uint64_t one = 1;
    sys::write(g_slot.notify_fd.load(std::memory_order_relaxed), &one, sizeof one);
  }
  errno = saved_errno;
}

bool handler_is_ours() noexcept {
  struct sigaction cur {};
  if (__sigaction(sample_signal(), nullptr, &cur) != 0) return false;
  return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sample;
}

// One line of a /proc file, or "" (small files; the monitor thread has no hub, so plain stdio).
std::string read_proc(const char* path, const char* key) {
  std::FILE* f = std::fopen(path, "re");
  if (!f) return "";
  char line[512];
  std::string found;
  while (std::fgets(line, sizeof line, f)) {
    if (!key || std::strncmp(line, key, std::strlen(key)) == 0) {
      found = line + (key ? std::strlen(key) : 0);
      break;
    }
  }
  std::fclose(f);
  return found;
}

bool signal_blocked(pid_t tid, int sig) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/status", static_cast<int>(tid));
  const std::string mask = read_proc(path, "SigBlk:");
  if (mask.empty()) return false;
  const unsigned long long bits = std::strtoull(mask.c_str(), nullptr, 16);
  return (bits >> (sig - 1)) & 1;
}

long wait_readable(int fd, std::int64_t ns) noexcept {
  pollfd p{fd, POLLIN, 0};
  const long r = sys::poll(&p, 1, static_cast<int>(ns / 1'000'000 + 1));
  if (r > 0) {
    std::uint64_t v;
    sys::read(fd, &v, sizeof v);
  }
  return r;
}

}  // namespace

int sample_signal() noexcept { return SIGRTMIN + 6; }

KernelState kernel_state(pid_t tid) noexcept {
  KernelState k;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  try {
    const std::string stat = read_proc(path, nullptr);
    const std::size_t paren = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (paren != std::string::npos && paren + 2 < stat.size()) k.state = stat[paren + 2];
    std::snprintf(path, sizeof path, "/proc/self/task/%d/syscall", static_cast<int>(tid));
    const std::string sc = read_proc(path, nullptr);
    if (!sc.empty() && sc[0] != 'r') {  // "running" otherwise
      char* end = nullptr;
      k.syscall = std::strtol(sc.c_str(), &end, 10);
      for (unsigned long& a : k.args) {
        if (!end || *end != ' ') break;
        a = std::strtoul(end + 1, &end, 16);
      }
    }
  } catch (...) {
  }
  return k;
}

const char* syscall_name(long nr) noexcept {
  switch (nr) {
    case SYS_read: return "read";
    case SYS_write: return "write";
    case SYS_readv: return "readv";
    case SYS_writev: return "writev";
    case SYS_pread64: return "pread64";
    case SYS_pwrite64: return "pwrite64";
    case SYS_poll: return "poll";
    case SYS_ppoll: return "ppoll";
    case SYS_select: return "select";
    case SYS_pselect6: return "pselect6";
    case SYS_epoll_wait: return "epoll_wait";
    case SYS_epoll_pwait: return "epoll_pwait";
    case SYS_futex: return "futex";
    case SYS_nanosleep: return "nanosleep";
    case SYS_clock_nanosleep: return "clock_nanosleep";
    case SYS_wait4: return "wait4";
    case SYS_waitid: return "waitid";
    case SYS_accept: return "accept";
    case SYS_accept4: return "accept4";
    case SYS_connect: return "connect";
    case SYS_recvfrom: return "recvfrom";
    case SYS_sendto: return "sendto";
    case SYS_recvmsg: return "recvmsg";
    case SYS_sendmsg: return "sendmsg";
    case SYS_flock: return "flock";
    case SYS_fcntl: return "fcntl";
    case SYS_openat: return "openat";
    case SYS_msgrcv: return "msgrcv";
    case SYS_semop: return "semop";
    case SYS_semtimedop: return "semtimedop";
    case SYS_io_uring_enter: return "io_uring_enter";
    default: return nullptr;
  }
}

bool safe_to_interrupt(const KernelState& k) noexcept {
  if (k.state == 'R') return true;
  if (k.state != 'S' && k.state != 'D') return false;
  switch (k.syscall) {
    case SYS_futex:  // restarted without a timeout; with one, a handler makes it fail with EINTR
      return k.args[3] == 0;
    case SYS_wait4:
    case SYS_waitid:
    case SYS_flock:
      return true;
    case SYS_read:
    case SYS_write:
    case SYS_readv:
    case SYS_writev:
    case SYS_pread64:
    case SYS_pwrite64: {
      // Restarted under SA_RESTART — except on a socket with SO_RCVTIMEO/SO_SNDTIMEO (EINTR).
      struct stat st {};
      return sys::fstat(static_cast<int>(k.args[0]), &st) == 0 && !S_ISSOCK(st.st_mode);
    }
    default:
      return false;  // sleeps, polls, socket calls: a signal would end them with EINTR
  }
}

bool sampling_ready(const char** why) noexcept {
  std::call_once(g_install_once, [] {
    backtrace::available();  // load the unwinder now: the handler must not
    struct sigaction cur {};
    if (__sigaction(sample_signal(), nullptr, &cur) != 0) {
      g_not_ready = "cannot query grove's sampling signal";
      return;
    }
    if ((cur.sa_flags & SA_SIGINFO) ? cur.sa_sigaction != nullptr : cur.sa_handler != SIG_DFL) {
      g_not_ready = "the program has its own handler on grove's sampling signal (SIGRTMIN+6)";
      return;
    }
    struct sigaction sa {};
    sa.sa_sigaction = on_sample;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    if (__sigaction(sample_signal(), &sa, nullptr) != 0) {  // libc's own: never the interposer's wrapper
      g_not_ready = "cannot install grove's sampling signal handler";
      return;
    }
    g_not_ready = nullptr;
  });
  if (why) *why = g_not_ready;
  return g_not_ready == nullptr;
}

ThreadSample sample_thread(const Hub* hub, pid_t tid, int notify_fd, std::int64_t timeout_ns) {
  ThreadSample out;
  const char* why = nullptr;
  if (!sampling_ready(&why)) {
    out.why_not = why;
    return out;
  }
  if (!handler_is_ours()) {
    out.why_not = "the program has replaced grove's handler of SIGRTMIN+6";
    return out;
  }
  if (signal_blocked(tid, sample_signal())) {
    out.why_not = "that thread blocks SIGRTMIN+6";
    return out;
  }
  if (g_slot.state.load() == kTaken) g_slot.state.store(kIdle);  // a handler that finished after we gave up
  if (g_slot.state.load() != kIdle) {
    out.why_not = "an earlier sample is still being taken";
    return out;
  }
  g_slot.trace.n = 0;
  g_slot.target.store(hub, std::memory_order_relaxed);
  g_slot.notify_fd.store(notify_fd, std::memory_order_relaxed);
  g_slot.state.store(kRequested, std::memory_order_release);
  if (sys::detail::call(SYS_tgkill, ::getpid(), tid, sample_signal()) != 0) {
    g_slot.state.store(kIdle);
    out.why_not = "the thread is gone";
    return out;
  }
  const std::int64_t deadline = now_ns() + timeout_ns;
  for (std::int64_t now = now_ns(); g_slot.state.load(std::memory_order_acquire) != kTaken; now = now_ns()) {
    if (now >= deadline) {
      int requested = kRequested;
      if (g_slot.state.compare_exchange_strong(requested, kIdle)) {
        out.why_not = "its handler did not run in time";
        return out;
      }
      if (requested == kTaking && now < deadline + 1'000'000'000) {  // started: let it finish
        wait_readable(notify_fd, 10'000'000);
        continue;
      }
      if (requested != kTaken) {
        out.why_not = "its handler did not finish in time";
        return out;
      }
      break;
    }
    wait_readable(notify_fd, deadline - now);
  }
  out.taken = true;
  out.greenlet_id = g_slot.greenlet_id;
  out.greenlet_name = g_slot.name;
  out.switching = g_slot.switching;
  out.trace = g_slot.trace;
  g_slot.target.store(nullptr, std::memory_order_relaxed);
  g_slot.state.store(kIdle, std::memory_order_release);
  return out;
}

void sampling_after_fork() noexcept {
  g_slot.target.store(nullptr);
  g_slot.state.store(kIdle);
}

}  // namespace grove::detail

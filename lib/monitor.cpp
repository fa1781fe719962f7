// monitor.cpp — grove's watch thread: dumps on a signal, and the monitor of blocked hubs.
//
// Design
// ------
// Both features are off unless their variable is set, and then cost nothing on the hubs' side
// beyond what every hub does anyway: the loop records its turns (watch.hpp). Everything else
// happens in one thread of grove's own, "grove-watch", started when the first hub is created.
// It blocks every signal, has no hub, and makes only raw or libc calls.
//
// GROVE_DUMP_SIGNAL=USR2. The handler, installed at load with libc's __sigaction (the
// interposer's sigaction would wrap it as the program's), only counts the request and writes the
// watch thread's eventfd: async-signal-safe, and nothing of the interrupted code is touched. The
// watch thread then posts a dump to every hub (dump.cpp); each hub makes its own at its loop's
// next turn — a sleeping hub is woken by the post — in its hub greenlet, where no greenlet runs
// and every stack can be read. A hub that a greenlet holds cannot do so until let go; after a
// second the watch thread says which, and what holds it. Before any hub exists the handler says
// there is nothing to dump (the signal's default action would have ended the process).
//
// GROVE_MONITOR=100ms. The watch thread looks at every hub a few times per threshold. A hub that
// is awake and whose turn count has not moved for longer than the threshold is held: by the
// greenlet that runs (computing, or in a blocking call grove does not hook), or by the hub itself
// (a posted callback). It is reported once at warn level, with what sample.cpp can see — the
// running greenlet and its stack, or the system call the thread is blocked in — and once more
// when the loop comes back, with the total time (from the loop's own timestamps, so exact to the
// loop's clock, not to the monitor's period).
//
// Green threads (issue 8): a hook that has to make a real blocking call (a lock grove cannot see,
// a regular file) brackets it with nothrow::real_call_begin/real_call_end; the report then names
// the call, its object and the greenlet that made it, without signalling the thread.
//
// Rejected: a dump made inside the signal handler (stdio, allocation and symbolizing are not
// async-signal-safe, and the interrupted greenlet may be halfway through changing what the dump
// reads); a monitor that counts switches (a store per switch, on the path every benchmark
// measures); sampling every thread that is in the kernel (a signal ends a nanosleep, a poll or a
// socket call with a timeout early: the program would see EINTR because grove looked at it).
#include "monitor.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dump.hpp"
#include "grove/nothrow.hpp"
#include "hub.hpp"
#include "log.hpp"
#include "own_fd.hpp"
#include "sample.hpp"
#include "sys.hpp"

extern "C" int __sigaction(int, const struct sigaction*, struct sigaction*);

namespace grove::detail {

// The seqlock of a hub's real call (HubWatch::real_call_seq): fields are atomics, ordered by
// fences. ThreadSanitizer does not model fences, so under it the fields themselves are stored
// with release and loaded with acquire instead — the same guarantee, at a price only paid there.
#if defined(__SANITIZE_THREAD__)
constexpr std::memory_order kFieldStore = std::memory_order_release, kFieldLoad = std::memory_order_acquire;
inline void seqlock_fence(std::memory_order) noexcept {}
#else
constexpr std::memory_order kFieldStore = std::memory_order_relaxed, kFieldLoad = std::memory_order_relaxed;
inline void seqlock_fence(std::memory_order m) noexcept { std::atomic_thread_fence(m); }
#endif

namespace {

constexpr std::int64_t kDumpPatience = 1'000'000'000;  // then say which hubs are held
constexpr std::int64_t kSampleTimeout = 200'000'000;

std::int64_t g_threshold = 0;  // GROVE_MONITOR, ns; read-only after load
int g_dump_signal = 0;         // GROVE_DUMP_SIGNAL
std::atomic<int> g_wake_fd{-1};          // the watch thread's eventfd, once it runs
std::atomic<unsigned> g_dump_requests{0};
std::atomic<bool> g_started{false};
std::atomic<bool> g_exiting{false};  // exit() has begun: a hub held now is the process ending

void on_dump_signal(int, siginfo_t*, void*) {
  const int saved_errno = errno;
  g_dump_requests.fetch_add(1, std::memory_order_relaxed);
  const int fd = g_wake_fd.load(std::memory_order_acquire);
  if (fd >= 0) {
    const std::uint64_t one = 1;
    sys::write(fd, &one, sizeof one);
  } else {
    static const char msg[] = "grove: dump signal received, but no hub exists yet: nothing to dump\n";
    sys::write(STDERR_FILENO, msg, sizeof msg - 1);
  }
  errno = saved_errno;
}

std::string signal_name(int sig) {
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

// What the monitor sees of one hub at one look (copied under the registry's lock).
struct Look {
  const Hub* hub;
  pid_t tid;
  std::uint64_t turns;
  std::int64_t turn_ns;
  bool asleep;
  std::int64_t longest_gap;  // since the last look
  const char* real_call;  // a hook's real call, if one is in progress (read under its seqlock)
  const void* real_object;
  std::int64_t real_since;
  std::uint64_t real_greenlet;
  char real_name[48];
};

// take_gaps: this look is the monitor's, which takes each hub's longest gap since its last look.
std::vector<Look> look_at_hubs(bool take_gaps) {
  struct Arg {
    std::vector<Look> looks;
    bool take_gaps;
  } arg{{}, take_gaps};
  Hub::for_each_hub(
      [](Hub& h, void* p) {
        auto& a = *static_cast<Arg*>(p);
        auto& out = a.looks;
        HubWatch& w = h.watch;
        Look l{};
        l.hub = &h;
        l.tid = w.tid;
        l.turns = w.turns.load(std::memory_order_relaxed);
        l.turn_ns = w.turn_ns.load(std::memory_order_relaxed);
        l.asleep = w.asleep.load(std::memory_order_relaxed);
        l.longest_gap = a.take_gaps ? w.longest_gap.exchange(0, std::memory_order_relaxed) : 0;
        const std::uint32_t seq = w.real_call_seq.load(std::memory_order_acquire);
        if (!(seq & 1)) {
          l.real_call = w.real_call.load(kFieldLoad);
          l.real_object = w.real_call_object.load(kFieldLoad);
          l.real_since = w.real_call_since.load(kFieldLoad);
          l.real_greenlet = w.real_call_greenlet.load(kFieldLoad);
          for (std::size_t i = 0; i < sizeof l.real_name; ++i) l.real_name[i] = w.real_call_name[i].load(kFieldLoad);
          l.real_name[sizeof l.real_name - 1] = '\0';
          seqlock_fence(std::memory_order_acquire);
          if (w.real_call_seq.load(std::memory_order_relaxed) != seq) l.real_call = nullptr;
        }
        try {
          out.push_back(l);
        } catch (...) {
        }
      },
      &arg);
  return std::move(arg.looks);
}

std::string greenlet_words(std::uint64_t id, const std::string& name) {
  return "greenlet " + std::to_string(id) + " '" + name + "'";
}

class Watch {
 public:
  explicit Watch(int wake_fd) : wake_fd_(wake_fd) {}
  [[noreturn]] void run();

 private:
  struct Held {
    const Hub* hub;
    pid_t tid;
    std::uint64_t turns;
    std::int64_t since;  // the loop's last turn before it was held
    bool reported;
    std::string who;
  };
  std::int64_t period() const noexcept;
  void serve_dump_requests(std::int64_t now);
  void check_dump_stragglers(std::int64_t now);
  void check_hubs(std::int64_t now);
  // Who holds the hub of l and how, in words (and the stack, one frame per line), for a report.
  std::string what_holds(const Look& l, std::string& who);

  int wake_fd_;
  unsigned dumps_seen_ = 0;
  std::vector<Held> held_;
  std::vector<Look> dump_pending_;  // hubs asked for a dump, as they were then
  std::int64_t dump_asked_at_ = 0;
};

std::int64_t Watch::period() const noexcept {
  std::int64_t p = -1;
  if (g_threshold > 0) p = std::max<std::int64_t>(g_threshold / 4, 1'000'000);
  if (!dump_pending_.empty()) p = p < 0 ? kDumpPatience / 4 : std::min(p, kDumpPatience / 4);
  return p;
}

void Watch::run() {
  for (;;) {
    const std::int64_t p = period();
    pollfd pf{wake_fd_, POLLIN, 0};
    const long r = sys::poll(&pf, 1, p < 0 ? -1 : static_cast<int>((p + 999'999) / 1'000'000));
    if (r > 0) {
      std::uint64_t v;
      sys::read(wake_fd_, &v, sizeof v);
    }
    const std::int64_t now = now_ns();
    if (g_exiting.load(std::memory_order_relaxed)) continue;
    try {
      serve_dump_requests(now);
      check_dump_stragglers(now);
      if (g_threshold > 0) check_hubs(now);
    } catch (const std::exception& e) {
      GROVE_LOG(error, "grove-watch: %s", e.what());
    }
  }
}

void Watch::serve_dump_requests(std::int64_t now) {
  const unsigned requests = g_dump_requests.load(std::memory_order_relaxed);
  if (requests == dumps_seen_) return;
  dumps_seen_ = requests;
  static const std::string& why = *new std::string("on " + signal_name(g_dump_signal));  // outlives exit: hubs may dump late
  dump_pending_ = look_at_hubs(false);
  dump_asked_at_ = now;
  if (post_dumps(why.c_str()) == 0) {
    write_dump_text("grove: " + signal_name(g_dump_signal) + " received, but no hub exists now: nothing to dump\n");
    dump_pending_.clear();
  }
}

void Watch::check_dump_stragglers(std::int64_t now) {
  if (dump_pending_.empty() || now - dump_asked_at_ < kDumpPatience) return;
  const std::vector<Look> pending = std::move(dump_pending_);
  dump_pending_.clear();
  for (const Look& l : look_at_hubs(false)) {
    for (const Look& p : pending) {
      if (p.hub != l.hub || p.tid != l.tid || l.asleep || l.turns != p.turns) continue;
      std::string who;
      std::string text = "grove: the hub of thread " + std::to_string(l.tid) + " has not come back to its loop for " +
                         format_duration(now - l.turn_ns) + ", so its dump waits until it does: " + what_holds(l, who);
      write_dump_text(text);
    }
  }
}

std::string Watch::what_holds(const Look& l, std::string& who) {
  if (l.real_call) {
    who = greenlet_words(l.real_greenlet, l.real_name);
    char obj[32] = "";
    if (l.real_object) std::snprintf(obj, sizeof obj, " %p", l.real_object);
    return who + " is blocked in the kernel in " + l.real_call + obj + " (a real call, for " +
           format_duration(now_ns() - l.real_since) + ")\n";
  }
  const KernelState k = kernel_state(l.tid);
  std::string in_kernel;
  if (k.state == 'S' || k.state == 'D') {
    const char* name = syscall_name(k.syscall);
    in_kernel = k.syscall < 0 ? std::string("blocked in the kernel")
                              : "blocked in the kernel in " + (name ? std::string(name) : "system call " + std::to_string(k.syscall));
    if (!safe_to_interrupt(k)) {
      who = "thread " + std::to_string(l.tid);
      return "the thread is " + in_kernel + " (not sampled: a signal would interrupt that call)\n";
    }
  }
  const ThreadSample s = sample_thread(l.hub, l.tid, wake_fd_, kSampleTimeout);
  if (!s.taken) {
    who = "thread " + std::to_string(l.tid);
    return (in_kernel.empty() ? std::string("the thread runs") : "the thread is " + in_kernel) + " (no sample: " +
           s.why_not + ")\n";
  }
  who = greenlet_words(s.greenlet_id, s.greenlet_name);
  std::string text = who + (s.switching ? " holds it (caught while switching)" : " holds it") +
                     (in_kernel.empty() ? ", running" : ", " + in_kernel);
  if (s.trace.n == 0) return text + "\n";
  return text + ":\n" + backtrace::describe(s.trace, "    ");
}

void Watch::check_hubs(std::int64_t now) {
  const std::vector<Look> looks = look_at_hubs(true);
  std::vector<Held> next;
  next.reserve(looks.size());
  for (const Look& l : looks) {
    Held h{l.hub, l.tid, l.turns, l.turn_ns, false, {}};
    for (Held& old : held_)
      if (old.hub == l.hub && old.tid == l.tid) h = std::move(old);
    if (l.asleep || l.turns != h.turns) {
      if (h.reported)  // the longest gap since the last look is this one (the loop's own clock)
        log::write_text(log::Level::warn, ("monitor: the hub of thread " + std::to_string(l.tid) +
                                           " came back to its loop after " + format_duration(l.longest_gap) +
                                           " (held by " + h.who + ")").c_str());
      h = Held{l.hub, l.tid, l.turns, l.turn_ns, false, {}};
    } else if (!h.reported && now - l.turn_ns >= g_threshold) {
      h.reported = true;
      h.since = l.turn_ns;
      std::string report = "monitor: the hub of thread " + std::to_string(l.tid) +
                           " has not come back to its loop for " + format_duration(now - l.turn_ns) +
                           " (GROVE_MONITOR=" + format_duration(g_threshold) + "): ";
      report += what_holds(l, h.who);
      if (!report.empty() && report.back() == '\n') report.pop_back();
      log::write_text(log::Level::warn, report.c_str());
    }
    next.push_back(std::move(h));
  }
  for (const Held& gone : held_) {
    bool still = false;
    for (const Held& h : next) still = still || (h.hub == gone.hub && h.tid == gone.tid);
    if (!still && gone.reported)
      GROVE_LOG(warn, "monitor: the hub of thread %d went away while held (by %s)", static_cast<int>(gone.tid),
                gone.who.c_str());
  }
  held_ = std::move(next);
}

void start_thread() noexcept {
  const long ev = sys::eventfd2(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ev < 0) {
    GROVE_LOG(error, "grove-watch: eventfd: %s; no dumps or monitor", std::strerror(static_cast<int>(-ev)));
    return;
  }
  const int fd = own_fd(static_cast<int>(ev));
  // grove's thread takes none of the program's signals: create it with all of them blocked.
  sigset_t all, saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  try {
    OwnThreadStart own;  // grove's thread: never a green thread
    std::thread t([fd] { Watch(fd).run(); });
    ::pthread_setname_np(t.native_handle(), "grove-watch");  // named before anyone can look
    t.detach();
    g_wake_fd.store(fd, std::memory_order_release);
    if (g_dump_requests.load() != 0) {  // a signal that came before the thread: serve it now
      const std::uint64_t one = 1;
      sys::write(fd, &one, sizeof one);
    }
  } catch (const std::exception& e) {
    GROVE_LOG(error, "grove-watch: cannot start its thread (%s); no dumps or monitor", e.what());
    disown_fd(fd);
    sys::close(fd);
  }
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

void child_after_fork() noexcept {
  // The thread did not survive the fork and the eventfd is shared with the parent's: start anew.
  // The parent's dump requests were the parent's: the child's new watch must not serve them.
  g_dump_requests.store(0, std::memory_order_relaxed);
  const int old = g_wake_fd.exchange(-1);
  if (old >= 0) {
    disown_fd(old);
    sys::close(old);
  }
  sampling_after_fork();
  if (g_started.load()) start_thread();
}

// At load: read the variables and install the dump handler, so that the signal never ends the
// process by its default action once it is asked for.
struct AtLoad {
  AtLoad() noexcept {
    if (const char* m = std::getenv("GROVE_MONITOR"); m && *m && !parse_duration(m, g_threshold)) {
      std::fprintf(stderr, "grove: GROVE_MONITOR=%s not understood (a duration: 100ms, 1.5s, 250us); monitor off\n", m);
      g_threshold = 0;
    }
    if (const char* d = std::getenv("GROVE_DUMP_SIGNAL"); d && *d) {
      int sig = 0;
      if (!parse_signal(d, sig) || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS ||
          sig == SIGFPE || sig == SIGILL || sig == sample_signal()) {
        std::fprintf(stderr, "grove: GROVE_DUMP_SIGNAL=%s cannot be used (a signal name such as USR2); no dump signal\n", d);
      } else {
        struct sigaction sa {};
        sa.sa_sigaction = on_dump_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (__sigaction(sig, &sa, nullptr) == 0) g_dump_signal = sig;  // libc's own: not the interposer's
      }
    }
  }
} g_at_load;

}  // namespace


void start_watch_if_asked() noexcept {
  if (g_threshold == 0 && g_dump_signal == 0) [[likely]]
    return;
  if (g_started.exchange(true)) return;
  ::pthread_atfork(nullptr, nullptr, child_after_fork);
  std::atexit([] { g_exiting.store(true, std::memory_order_relaxed); });
  if (g_threshold > 0) {
    const char* why = nullptr;
    if (!sampling_ready(&why)) GROVE_LOG(warn, "monitor: stacks of held hubs cannot be sampled: %s", why);
  }
  start_thread();
}

bool parse_duration(const char* text, std::int64_t& ns) noexcept {
  if (std::strcmp(text, "off") == 0) {
    ns = 0;
    return true;
  }
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (end == text || errno != 0 || !(v >= 0) || !std::isfinite(v)) return false;
  double scale = 1e6;  // a bare number: milliseconds
  if (std::strcmp(end, "ns") == 0) scale = 1;
  else if (std::strcmp(end, "us") == 0) scale = 1e3;
  else if (std::strcmp(end, "ms") == 0) scale = 1e6;
  else if (std::strcmp(end, "s") == 0) scale = 1e9;
  else if (*end != '\0') return false;
  const double total = v * scale;
  if (total > 3.6e12) return false;  // an hour is plenty
  ns = static_cast<std::int64_t>(total);
  return true;
}

bool parse_signal(const char* text, int& sig) noexcept {
  char* end = nullptr;
  const long n = std::strtol(text, &end, 10);
  if (end != text && *end == '\0') {
    if (n <= 0 || n >= NSIG) return false;
    sig = static_cast<int>(n);
    return true;
  }
  const char* name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
  for (int s = 1; s < SIGRTMIN; ++s) {
    const char* abbrev = ::sigabbrev_np(s);
    if (abbrev && strcasecmp(abbrev, name) == 0) {
      sig = s;
      return true;
    }
  }
  return false;
}

}  // namespace grove::detail

namespace grove::nothrow {

void real_call_begin(const char* call, const void* object) noexcept {
  detail::Hub* hub = detail::tl_ctx.hub;
  if (!hub) return;
  detail::HubWatch& w = hub->watch;
  const std::uint32_t seq = w.real_call_seq.load(std::memory_order_relaxed);
  w.real_call_seq.store(seq + 1, std::memory_order_relaxed);
  detail::seqlock_fence(std::memory_order_release);
  const detail::GreenletCore* g = hub->current();
  w.real_call_object.store(object, detail::kFieldStore);
  w.real_call_since.store(detail::now_ns(), detail::kFieldStore);
  w.real_call_greenlet.store(g->id, detail::kFieldStore);
  const std::size_t n = std::min(g->name.size(), sizeof w.real_call_name - 1);
  for (std::size_t i = 0; i < sizeof w.real_call_name; ++i)
    w.real_call_name[i].store(i < n ? g->name[i] : '\0', detail::kFieldStore);
  w.real_call.store(call, detail::kFieldStore);
  w.real_call_seq.store(seq + 2, std::memory_order_release);
}

void real_call_end() noexcept {
  detail::Hub* hub = detail::tl_ctx.hub;
  if (!hub) return;
  detail::HubWatch& w = hub->watch;
  const std::uint32_t seq = w.real_call_seq.load(std::memory_order_relaxed);
  w.real_call_seq.store(seq + 1, std::memory_order_relaxed);
  detail::seqlock_fence(std::memory_order_release);
  w.real_call.store(nullptr, detail::kFieldStore);
  w.real_call_seq.store(seq + 2, std::memory_order_release);
}

}  // namespace grove::nothrow

// hub.cpp — grove's scheduler: one hub per OS thread.
//
// Design
// ------
// Every thread that uses grove has a Hub, created by its first grove call. The thread's own stack
// becomes the hub's *root* greenlet (main() is a greenlet, as in gevent); the hub's event loop runs
// in a greenlet of its own, with its own stack. Greenlets of one hub never run in parallel and
// never move to another thread: the only switch points are the blocking calls of grove's API
// (and, under the interposer, of libc), so code between two of them runs atomically.
//
// Blocking is one mechanism (waiter.cpp): the running greenlet records why it parks (a reason, a
// deadline, an fd) and calls reschedule(). Waking is one mechanism too: unpark() checks the
// greenlet's park generation and puts it on the tail of the ready queue with the cause.
//
// The loop has a fixed order, like redis' ae:
//
//     1. timeout = 0 if a greenlet is ready, else until the earliest timer, else infinite;
//        nothing ready, no timer, no fd waited on, nothing expected from another thread:
//        wake the root with Wake::blocked_forever instead of sleeping for ever;
//     2. poll (epoll) and unpark each fd's waiter; run what other threads sent to the inbox;
//     3. fire due timers (deadlines of parks, delayed spawns);
//     4. run ready greenlets, in FIFO order, for a batch of up to kBatch switches.
//
// Step 4 does not bounce through the hub between greenlets: a greenlet that parks hands over
// directly to the next ready one (one context switch instead of two), and only when the batch
// is spent or the queue is empty does control return to the hub for steps 1–3. The batch bound
// keeps greenlets that yield in a loop from starving I/O and timers; when nobody waits on an fd
// and other greenlets are ready, step 2 is skipped entirely, so pure switching costs no syscall.
//
// Handoff: two exceptions to FIFO order, both for a greenlet that waits on another. When a
// greenlet finishes, its first joiner runs next; joining a greenlet that has not started yet
// starts it next. Everything else — spawn order, wake order of Events, queues, fds — stays FIFO.
// This is what makes a spawn/join tree run depth-first: skynet's million greenlets then need a
// handful of live stacks instead of the 111k internal nodes all parked at once (1.2 s → under
// 0.2 s here, most of the difference being mmap/munmap and first-touch page faults). Go gets the
// same effect from runnext, which it applies to every wake-up; we keep it to joins so that the
// order of everything else stays what a gevent user expects.
//
// Rejected alternatives: a switch to the hub after every park (gevent's and libev's shape) costs
// a second context switch per handover — about half of P1's budget; polling with a zero timeout
// before every batch costs a syscall that pure CPU work does not need; a priority for every newly
// spawned greenlet (Go's runnext on spawn) makes start order surprising.
//
// Stacks are allocated when a greenlet first runs, not when it is spawned, and return to the
// pool when it finishes: a million spawned greenlets that each run to completion in turn need
// one stack, not a million.
//
// Seeing inside: each turn the loop records its time and a count in `watch` (watch.hpp) — one
// clock read per turn, nothing per switch. A park takes that time as its start (for dumps, dump.cpp),
// and grove's monitor (monitor.cpp) tells a hub whose count stands still while it is awake.
//
// Other threads. Hubs share nothing but their inboxes (inbox.hpp): a greenlet of another hub
// (or a plain thread) that wakes one of ours, kills it, starts one here (HubGroup::spawn_on) or
// posts a callback pushes a node into our inbox, and writes our eventfd only if we are asleep.
// Step 2 of the loop drains the inbox; step 1 does not block while it holds anything, and the
// sleep handshake makes sure a push that races our going to sleep is never missed. Who may end
// a park when several threads race for it — a timer here, a hand-over from another hub — is
// settled by one compare-and-swap on the greenlet's park word (waiter.hpp), so the loop itself
// never takes a lock. A hub whose greenlets wait only on other threads spins on its inbox for a
// moment before it sleeps (spin_for_inbox). Rejected: a mutex-protected queue of std::functions
// (the old Hub::post: a lock, an allocation and a system call per message), and delegating every
// operation on a shared primitive to the hub that owns it, Seastar's way (a message round trip
// for every put and get instead of one hand-over).

#include "hub.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <system_error>
#include <utility>

#include "assert.hpp"
#include "grove/detail/green.hpp"
#include "log.hpp"
#include "monitor.hpp"
#include "sys.hpp"

namespace grove::detail {

namespace {

constexpr int kBatch = 64;
constexpr std::size_t kKeptStacks = 4096;
constexpr std::uint64_t kIdBlock = 1024;

std::atomic<std::uint64_t> g_next_ids{0};

void child_after_fork() noexcept {
  if (Hub* h = tl_ctx.hub) h->after_fork_in_child();
}

}  // namespace

void install_overflow_handler();  // stack_guard.cpp
void own_hub_at_thread_exit() noexcept;  // context.cpp

void Hub::after_fork_in_child() noexcept {
  try {
    poller_.renew();
  } catch (const std::exception& e) {
    GROVE_FATAL("in the child of fork(): %s", e.what());
  }
  watch.tid = ::gettid();
  inbox_.after_fork();  // a push another thread had half done at fork time never completes here
  if (green::on()) keep_only_current_after_fork();
  fds_after_fork();
}

// POSIX: the child of fork() has one thread, the one that forked. With green threads the others
// are greenlets of this hub: they must never run in the child. Their memory is left as it is.
void Hub::keep_only_current_after_fork() noexcept {
  auto abandon = [this](GreenletCore* g) {
    unqueue(g);
    timers_.cancel(&g->timer);
    end_park(g);  // every pending wake-up is stale
    g->state = State::dead;
  };
  for (GreenletCore* g = all_; g; g = g->all_next)
    if (g != current_) abandon(g);
  if (root_ != current_) abandon(root_);
}

Hub& Hub::create() {
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] { ::pthread_atfork(nullptr, nullptr, child_after_fork); });
  auto h = std::make_unique<Hub>();
  tl_ctx.hub = h.release();
  own_hub_at_thread_exit();
  start_watch_if_asked();
  return *tl_ctx.hub;
}

Hub::Hub() : stacks_(default_stack_size(), kKeptStacks) {
  root_ = make_root(this);
  hub_g_ = make_hub_greenlet(this);
  current_ = root_;
  watch.tid = ::gettid();
  watch.woke(now_ns());
  install_overflow_handler();
  join_registry();
  GROVE_LOG(debug, "hub created for this thread (stack size %zu, guards by %s)", stacks_.default_size(),
            StackPool::guard_method() == GuardMethod::guard_install ? "MADV_GUARD_INSTALL" : "mprotect");
}

Hub::~Hub() {
  leave_registry();
  // Nothing can send any more (no greenlet of this hub is alive, the registry and the offload
  // link are closed); wait for senders still inside send(), then run what they left.
  while (senders_.load(std::memory_order_acquire) != 0) sys::sched_yield();
  drain_inbox();
  stacks_.release(std::exchange(hub_g_->stack, Stack{}));
  release_core(hub_g_);
  release_core(root_);
}

void Hub::reserve_ids() noexcept {
  last_id_ = g_next_ids.fetch_add(kIdBlock, std::memory_order_relaxed);
  id_limit_ = last_id_ + kIdBlock;
}

std::uint64_t Hub::id_elsewhere() noexcept { return g_next_ids.fetch_add(1, std::memory_order_relaxed) + 1; }

// --- ready queue --------------------------------------------------------------------------------

GreenletCore* Hub::pick_next_slow() noexcept {
  while (head_ && budget_ > 0) {
    --budget_;
    GreenletCore* g = head_;
    unqueue(g);
    if (g->started || g->is_root) return g;
    // First run: give it a stack. Without memory it fails like any greenlet that threw.
    try {
      prepare_context(g);
      return g;
    } catch (...) {
      fail_unstarted(g, std::current_exception());
    }
  }
  return hub_g_;
}

void Hub::exit_current() noexcept {
  GreenletCore* self = current_;
  dying_stack_ = std::exchange(self->stack, Stack{});
  dying_fiber = self->tsan_fiber;
  GreenletCore* next = pick_next();
  unref(self);  // the scheduler's reference; may free self (its stack is in dying_stack_)
  switch_away_dead(next);
}

// --- registry -------------------------------------------------------------------------------------

void Hub::adopt(GreenletCore* g) noexcept {
  g->all_prev = nullptr;
  g->all_next = all_;
  if (all_) all_->all_prev = g;
  all_ = g;
  ++live_;
}

void Hub::disown(GreenletCore* g) noexcept {
  (g->all_prev ? g->all_prev->all_next : all_) = g->all_next;
  if (g->all_next) g->all_next->all_prev = g->all_prev;
  --live_;
}

// --- the loop -------------------------------------------------------------------------------------

void Hub::loop() noexcept {
  for (;;) {
    std::int64_t now = now_ns();  // read again after a sleep (and to time the sleep until a timer)
    watch.came_back(now);
    bool posted = drain_inbox();
    std::int64_t timeout;
    // A handler that ran since the last look must not wait for the next event to be noticed.
    if (head_ || posted || tl_ctx.signals != 0 || !inbox_.idle()) {
      timeout = 0;
    } else if (TimerNode* t = timers_.top()) {
      timeout = std::max<std::int64_t>(0, t->deadline - now_ns());
    } else if (fd_waiters_ > 0 || external_ > 0 || shared_waits_ > 0) {
      timeout = -1;
    } else {
      report_blocked_forever();
      continue;
    }
    if (timeout != 0 && shared_waits_ > 0 && fd_waiters_ == 0 && spin_for_inbox(timeout)) timeout = 0;
    if (timeout != 0 || fd_waiters_ > 0 || external_ > 0) {
      // The sleep handshake (inbox.hpp): announce the sleep, then look at the inbox once more.
      // A signal handler that runs from here on writes the wake-up fd (signal_begin); one that
      // ran before is seen by the check of tl_ctx.signals below.
      watch.asleep.store(true, std::memory_order_relaxed);
      if (timeout != 0 && (!inbox_.begin_sleep() || tl_ctx.signals != 0)) timeout = 0;
      try {
        poller_.wait(timeout, [this](const PollEvent& ev) { on_poll_event(ev); });
      } catch (const std::exception& e) {
        GROVE_FATAL("%s", e.what());
      }
      inbox_.end_sleep();
      now = now_ns();
      watch.woke(now);
      watch.asleep.store(false, std::memory_order_relaxed);
      drain_inbox();
    }
    deliver_signals();
    if (!timers_.empty()) fire_timers(now);
    budget_ = kBatch;
    if (GreenletCore* g = pick_next(); g != hub_g_) switch_to(hub_g_, g);
  }
}

void Hub::fire_timers(std::int64_t now) noexcept {
  while (TimerNode* n = timers_.pop_due(now)) {
    auto* g = static_cast<GreenletCore*>(n->owner);
    if (g->state == State::created)
      make_ready(g);  // spawn_later's delay is over
    else
      unpark(g, g->park_gen, Wake::deadline);
  }
}

// --- the inbox (inbox.hpp) ----------------------------------------------------------------------

// Spinning. A greenlet parked on a grove::mt primitive is woken by another thread, through the
// inbox. If the hub went to sleep at once, each such wake-up would cost the waker an eventfd
// write and this thread a trip through epoll_wait and the kernel's scheduler — microseconds,
// where the hand-over itself takes a few hundred nanoseconds. So a hub with such waits and no
// fd to watch first polls its inbox for up to kSpinNs (or until its next timer), as Go's idle
// Ms spin and Seastar polls before sleeping. A hub that serves fds never spins: it would delay
// their events. True if a message arrived.
bool Hub::spin_for_inbox(std::int64_t timeout_ns) noexcept {
  constexpr std::int64_t kSpinNs = 50'000;
  const std::int64_t budget = timeout_ns < 0 ? kSpinNs : std::min(timeout_ns, kSpinNs);
  const std::int64_t end = now_ns() + budget;
  for (unsigned i = 1;; ++i) {
    if (!inbox_.idle()) return true;
    if (tl_ctx.signals != 0) return false;
    if ((i & 63) == 0 && now_ns() >= end) return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

bool Hub::drain_inbox() noexcept {
  bool any = false;
  while (InboxNode* n = inbox_.pop()) {
    n->run(n);
    any = true;
  }
  return any;
}

void Hub::send(InboxNode* n) noexcept {
  // The pin keeps ~Hub from freeing the hub between the push, after which the message may be
  // handled and the hub's last greenlet end, and the eventfd write.
  senders_.fetch_add(1, std::memory_order_relaxed);
  if (inbox_.push(n)) {
    notifies_.fetch_add(1, std::memory_order_relaxed);
    poller_.notify();
  }
  senders_.fetch_sub(1, std::memory_order_release);
}

void Hub::report_blocked_forever() noexcept {
  GROVE_ASSERT(root_->is_parked(), "the hub has nothing to run and the thread's root greenlet is not waiting");
  std::string report = "grove: '" + root_->name + "' would block forever in '" +
                       (root_->wait_reason ? root_->wait_reason : "?") +
                       "': no greenlet is ready, no timer is pending and no fd is being waited on";
  std::size_t listed = 0;
  for (GreenletCore* g = all_; g; g = g->all_next) {
    if (g == root_ || !g->is_parked()) continue;
    if (listed == 0) report += ". Also parked:";
    if (++listed > 10) {
      report += " …";
      break;
    }
    report += " '" + g->name + "' in '" + (g->wait_reason ? g->wait_reason : "?") + "'";
    if (g->wait_fd >= 0) report += " (fd " + std::to_string(g->wait_fd) + ")";
    report += ";";
  }
  blocked_report_ = std::move(report);
  GROVE_LOG(debug, "%s", blocked_report_.c_str());
  unpark(root_, root_->park_gen, Wake::blocked_forever);
}

// --- signals ------------------------------------------------------------------------------------

// A signal handler ran on this thread (the interposer's trampoline counted it): end the
// interruptible parks, as the kernel ends a blocking call. Process-directed signals reach one
// thread, natively too; only that thread's blocked calls see EINTR. With green threads, the
// threads are greenlets: a signal sent to one (pthread_kill) ends its call, any other the main
// thread's, where a process-directed signal usually lands natively. Without them, the greenlets
// of a thread share it, and each parked libc call sees the signal.
void Hub::deliver_signals() noexcept {
  if (tl_ctx.signals == 0) return;
  tl_ctx.signals = 0;
  const bool restart_all = tl_ctx.no_restart == 0;
  tl_ctx.no_restart = 0;
  const Wake cause = restart_all ? Wake::interrupted_restart : Wake::interrupted;
  auto interrupt = [cause](GreenletCore* g) {
    if (g->is_parked() && g->interruptible) unpark(g, g->park_gen, cause);
  };
  bool targeted = false;
  for (GreenletCore* g = all_; g; g = g->all_next)
    if (std::exchange(g->signal_target, false)) {
      targeted = true;
      interrupt(g);
    }
  if (targeted) return;
  if (!green::on())
    for (GreenletCore* g = all_; g; g = g->all_next) interrupt(g);
  interrupt(root_);
}

}  // namespace grove::detail

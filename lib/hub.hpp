// hub.hpp — one event loop per OS thread; the design of grove's scheduler is in hub.cpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include <poll.h>

#include "context.hpp"
#include "fd_record.hpp"
#include "greenlet.hpp"
#include "inbox.hpp"
#include "log.hpp"
#include "poller.hpp"
#include "stack.hpp"
#include "timer_heap.hpp"
#include "waiter.hpp"
#include "watch.hpp"

namespace grove::detail {

// Flags of Hub::wait_fd.
inline constexpr unsigned kWaitExclusive = 1;      // one waiter per direction: else Wake::fd_busy
inline constexpr unsigned kWaitInterruptible = 2;  // a signal handler ends the wait (libc calls)

class Hub {
 public:
  // This thread's hub, created on first use (the calling code becomes its root greenlet).
  static Hub& get() {
    if (Hub* h = tl_ctx.hub) [[likely]]
      return *h;
    return create();
  }
  static Hub* get_if() noexcept { return tl_ctx.hub; }

  Hub();
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  GreenletCore* current() const noexcept { return current_; }
  GreenletCore* root() const noexcept { return root_; }
  void set_current(GreenletCore* g) noexcept { current_ = g; }

  // --- scheduling ---------------------------------------------------------------------------
  // The hot path of every switch is inline here: a yield is a queue push, a pop and a jump.
  void make_ready(GreenletCore* g) noexcept {  // to the tail of the ready queue
    g->state = State::ready;
    if (g->in_queue) return;
    g->in_queue = true;
    g->next = nullptr;
    g->prev = tail_;
    (tail_ ? tail_->next : head_) = g;
    tail_ = g;
  }
  // To the head: it runs next. For handing control to a greenlet that waits on the one running
  // (see "Handoff" in hub.cpp).
  void make_ready_next(GreenletCore* g) noexcept {
    g->state = State::ready;
    unqueue(g);
    g->in_queue = true;
    g->prev = nullptr;
    g->next = head_;
    (head_ ? head_->prev : tail_) = g;
    head_ = g;
  }
  void unqueue(GreenletCore* g) noexcept {  // out of the ready queue, if in it
    if (!g->in_queue) return;
    (g->prev ? g->prev->next : head_) = g->next;
    (g->next ? g->next->prev : tail_) = g->prev;
    g->next = g->prev = nullptr;
    g->in_queue = false;
  }
  // The running greenlet has parked or queued itself: run others until it is switched back to.
  void reschedule() noexcept {
    GreenletCore* self = current_;
    GreenletCore* next = pick_next();
    if (next == self) {
      self->state = State::running;
      return;
    }
    switch_to(self, next);
  }
  // Takes the next greenlet to run off the ready queue (the hub greenlet when the batch is
  // spent or the queue empty); the caller switches to it.
  GreenletCore* pick_next() noexcept {
    if (head_ && budget_ > 0) [[likely]] {
      GreenletCore* g = head_;
      if (g->started) {
        --budget_;
        unqueue(g);
        return g;
      }
    }
    return pick_next_slow();
  }
  // The running greenlet has finished; its scheduler reference is dropped here.
  [[noreturn]] void exit_current() noexcept;
  // Body of the hub greenlet (never returns).
  [[noreturn]] void loop() noexcept;

  // --- greenlet registry --------------------------------------------------------------------
  void adopt(GreenletCore* g) noexcept;   // a greenlet of this thread is started
  void disown(GreenletCore* g) noexcept;  // it has finished (its block may live on, without the hub)
  // Greenlet ids are unique in the process: each hub takes them in blocks from a global
  // counter; a greenlet made on another thread for this hub (spawn_on) takes one directly.
  std::uint64_t next_id() noexcept {
    if (last_id_ == id_limit_) [[unlikely]]
      reserve_ids();
    return ++last_id_;
  }
  static std::uint64_t id_elsewhere() noexcept;
  // Greenlets started and not yet finished (not counting the root and the hub greenlet).
  std::size_t live_greenlets() const noexcept { return live_; }
  // The first of them; the others follow GreenletCore::all_next.
  GreenletCore* alive_list() const noexcept { return all_; }

  // --- timers -------------------------------------------------------------------------------
  TimerHeap& timers() noexcept { return timers_; }

  // --- file descriptors (fd_wait.cpp) -------------------------------------------------------
  // Parks the running greenlet until fd may be ready for `in` (then retry the call: Wake::fd_ready),
  // the deadline, its close (fd_closed), or an interruption. Without parking it returns
  // fd_busy — another greenlet already waits in that direction and kWaitExclusive is set, or
  // another thread's hub waits on fd — or fd_unpollable — the poller cannot watch fd, so the
  // call must be made blocking for real.
  Wake wait_fd(int fd, Interest in, std::int64_t deadline_ns, const char* reason, unsigned flags);
  // The wait-first hint of a stream socket's reads (FdRecord::read_drained): whether the last
  // read emptied the receive queue, and what a read just found.
  bool read_drained(int fd) noexcept;
  void note_read(int fd, bool drained) noexcept;
  // Parks until any of the fds may be ready for its events (poll semantics are the caller's:
  // it polls again after the wake), the deadline, or an interruption; fd_unpollable if one of
  // them cannot be watched (the caller polls for real then).
  Wake wait_fds(const pollfd* fds, std::size_t n, std::int64_t deadline_ns, const char* reason, bool interruptible);
  // fd is about to be closed (or replaced by dup2), on any thread, with or without a hub: gives
  // the number a new generation so nothing stale reaches its next file, and has the hub that
  // waits on it wake its waiters with fd_closed and take it out of its poller — at once when
  // that is this thread's hub, through its post queue when it is another thread's.
  static void fd_closing(int fd) noexcept;
  // A greenlet of this hub waiting on fd in that direction, for error messages; else nullptr.
  GreenletCore* fd_waiter(int fd, Interest in) noexcept;

  // --- other threads (inbox.hpp) ------------------------------------------------------------
  // Queues n for this hub's thread, which runs n->run(n) in the hub loop soon; writes the hub's
  // eventfd only if the hub is asleep. Any thread; the caller guarantees the hub is alive for
  // the call (it waits on a greenlet of this hub that cannot finish meanwhile, or holds a lock
  // the hub's teardown takes). Never blocks, never allocates.
  void send(InboxNode* n) noexcept;
  // Runs fn() on this hub's thread, in the hub (it must not block), soon. Any thread. One
  // allocation for the closure; throws std::bad_alloc. An exception fn throws is logged.
  template <class F>
  void post(F&& fn);
  // While held, the hub counts on a wake-up from another thread (an offloaded call) and does not
  // report "would block forever". Hub thread only.
  void hold_external() noexcept { ++external_; }
  void release_external() noexcept { --external_; }
  // A greenlet of this hub parks where another thread will wake it (a grove::mt primitive, a
  // join of a greenlet of another hub): like hold_external, and before the hub sleeps with such
  // waits and no fd to watch it polls its inbox for a moment (see "Spinning" in hub.cpp).
  void begin_shared_wait() noexcept { ++shared_waits_; }
  void end_shared_wait() noexcept { --shared_waits_; }

  // The OS thread's id (for signals sent to one of its green threads).
  int thread_id() const noexcept { return watch.tid; }

  // From a signal handler on this thread (async-signal-safe): make a sleeping loop look again.
  void wake_from_signal() noexcept {
    if (inbox_.asleep()) poller_.notify();
  }
  // In (or about to enter) its poller's wait.
  bool asleep() const noexcept { return inbox_.asleep(); }
  // How many times other threads wrote this hub's eventfd (tests: a wake-up of a running hub
  // costs no system call).
  std::uint64_t notifies() const noexcept { return notifies_.load(std::memory_order_relaxed); }

  // Every live hub of the process, under the registry's lock (fd_wait.cpp): fn must not block,
  // and may post() to them.
  static void for_each_hub(void (*fn)(Hub&, void*), void* arg);
  // Greenlets of this hub in the registry's order, oldest spawn last (for dumps). Hub thread only.
  GreenletCore* first_greenlet() const noexcept { return all_; }
  // What other threads see of this hub's loop (watch.hpp).
  HubWatch watch;

  // In the child of fork(): a fresh poller; every greenlet waiting on an fd retries and registers
  // again with it. The parent is unaffected.
  void after_fork_in_child() noexcept;

  StackPool& stacks() noexcept { return stacks_; }
  // Where the dying greenlet leaves its stack for the greenlet it switches to.
  Stack& dying_stack() noexcept { return dying_stack_; }
  // Set when the root was woken with Wake::blocked_forever: who was parked on what.
  const std::string& blocked_report() const noexcept { return blocked_report_; }

  // The C++ runtime's per-thread exception record (__cxa_get_globals), fetched once per hub: it
  // never moves for the thread's life, and the switch path must not pay __tls_get_addr for it.
  void* eh_globals = nullptr;
  int* errno_location = nullptr;  // likewise &errno
  // ThreadSanitizer builds: the fiber of the greenlet that just died, destroyed by the one it
  // switched to (greenlet.cpp). Null otherwise.
  void* dying_fiber = nullptr;

 private:
  static Hub& create();
  GreenletCore* pick_next_slow() noexcept;
  bool claim_fd(int fd, FdRecord& r) noexcept;
  int register_fd(int fd, FdRecord& r) noexcept;
  void drop_fd(int fd, FdRecord& r, std::uint32_t closed_gen) noexcept;
  void fds_after_fork() noexcept;
  void keep_only_current_after_fork() noexcept;
  void join_registry() noexcept;
  void leave_registry() noexcept;
  void fire_timers(std::int64_t now) noexcept;
  void on_poll_event(const PollEvent& ev) noexcept;
  bool drain_inbox() noexcept;
  bool spin_for_inbox(std::int64_t timeout_ns) noexcept;
  void report_blocked_forever() noexcept;
  void deliver_signals() noexcept;

  GreenletCore* current_ = nullptr;
  GreenletCore* root_ = nullptr;
  GreenletCore* hub_g_ = nullptr;

  GreenletCore* head_ = nullptr;  // ready queue
  GreenletCore* tail_ = nullptr;
  int budget_ = 0;  // switches left before the hub polls again

  GreenletCore* all_ = nullptr;
  std::size_t live_ = 0;
  std::uint64_t last_id_ = 0;
  std::uint64_t id_limit_ = 0;
  void reserve_ids() noexcept;

  TimerHeap timers_;
  Poller poller_;
  std::size_t fd_waiters_ = 0;
  Hub* hubs_next_ = nullptr;  // all live hubs of the process (fd_wait.cpp)
  Hub* hubs_prev_ = nullptr;
  StackPool stacks_;
  Stack dying_stack_;

  Inbox inbox_;
  std::atomic<int> senders_{0};  // threads inside send(): the hub is not freed under them
  std::atomic<std::uint64_t> notifies_{0};
  int external_ = 0;
  int shared_waits_ = 0;

  std::string blocked_report_;
};

template <class F>
void Hub::post(F&& fn) {
  struct Posted final : InboxNode {
    explicit Posted(F&& f) : call(std::forward<F>(f)) {}
    std::decay_t<F> call;
  };
  auto* p = new Posted(std::forward<F>(fn));
  p->run = [](InboxNode* n) {
    auto* self = static_cast<Posted*>(n);
    try {
      self->call();
    } catch (const std::exception& e) {
      GROVE_LOG(error, "callback posted to the hub threw: %s", e.what());
    }
    delete self;
  };
  send(p);
}

}  // namespace grove::detail

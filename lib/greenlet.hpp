// greenlet.hpp — the runtime object behind every grove::Greenlet handle, and the context switch.
//
// greenlet.cpp is the only user of Boost.Context. It uses the fcontext layer (make_fcontext /
// jump_fcontext) rather than boost::context::fiber because grove switches symmetrically between
// many greenlets (A can hand over to B directly, without going through the hub), allocates
// its own guarded stacks, and must never unwind a parked greenlet's stack from a destructor at
// thread exit, which is what a destroyed `fiber` does. Each switch also swaps the C++ runtime's
// per-thread "exceptions in flight" state (__cxa_get_globals), which Boost.Context 1.74 does not:
// a greenlet parked inside a catch block must not change std::uncaught_exceptions() or `throw;`
// in another one.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>

#include "grove/detail/core.hpp"
#include "grove/detail/spin_lock.hpp"
#include "inbox.hpp"
#include "stack.hpp"
#include "timer_heap.hpp"
#include "waiter.hpp"

namespace grove {
class Timeout;
}

namespace grove::detail {

class Hub;

enum class State : std::uint8_t {
  created,  // spawned, not yet run (maybe waiting for spawn_later's delay)
  ready,    // in the hub's ready queue
  running,
  parked,   // waiting in park()
  dead,
};

const char* to_string(State s) noexcept;

struct GreenletCore;

// A message about a greenlet to its hub from another thread (inbox.hpp), embedded in the
// greenlet so that sending one never allocates.
struct GreenletMessage : InboxNode {
  GreenletCore* g = nullptr;
};

// Bits of GreenletCore::join_state.
inline constexpr unsigned kJoinDone = 1;           // finished: result and error are final
inline constexpr unsigned kJoinRemoteWaiters = 2;  // a greenlet of another hub joined it once
inline constexpr unsigned kJoinKillSent = 4;       // a kill from another thread is on its way

struct GreenletCore {
  // Ready-queue links (intrusive: making a greenlet ready never allocates).
  GreenletCore* next = nullptr;
  GreenletCore* prev = nullptr;
  // The hub's list of live greenlets, for the would-block-forever report.
  GreenletCore* all_next = nullptr;
  GreenletCore* all_prev = nullptr;

  Hub* hub = nullptr;
  void* fctx = nullptr;  // saved context while not running
  Stack stack;           // empty for a thread's own (root) greenlet
  State state = State::created;
  bool is_root = false;  // the thread's native stack
  bool is_hub = false;
  bool in_queue = false;
  bool started = false;  // has run at least once (has a context)

  // park/unpark (waiter.hpp). park_word is (park_gen << 8 | cause): the cause is Wake::none
  // while the park of that generation is open, and the first waker to claim it writes its cause
  // there with a compare-and-swap — from any thread. park_gen is the owner's own copy.
  std::atomic<std::uint64_t> park_word{0};
  bool kill_pending = false;  // sticky: every later park returns Wake::killed at once
  std::uint64_t park_gen = 0;
  const char* wait_reason = nullptr;
  const void* wait_object = nullptr;  // what it waits on, if the park names it (a joined greenlet, a wait list)
  int wait_fd = -1;
  std::int64_t park_since = 0;        // the hub loop's last turn before the park (watch.hpp)
  bool interruptible = false;  // this park ends when a signal handler runs (waiter.hpp)
  bool signal_target = false;  // a signal was sent to this green thread (pthread_kill)
  TimerNode timer;
  std::int64_t park_deadline = kNever;  // the caller's own deadline of the current park
  Timeout* timeouts = nullptr;          // innermost grove::Timeout scope

  // C++ runtime exception state and errno while switched out: each greenlet (each green thread)
  // has its own, as each thread has natively.
  void* eh_caught = nullptr;
  unsigned int eh_uncaught = 0;
  int saved_errno = 0;

  // Result and joining. Joiners of this hub wait in `joiners` (touched on this hub's thread
  // only); joiners of other hubs in `remote_joiners`, under `remote_lock` (lifecycle.cpp).
  Body* body = nullptr;
  std::exception_ptr error;
  bool killed = false;          // ended by GreenletExit
  std::atomic<bool> error_observed{false};  // someone looked at `error` (on any thread): do not log it as lost
  WaitList joiners;
  std::atomic<unsigned> join_state{0};
  SpinLock remote_lock;
  WaitList remote_joiners;

  // Messages from other threads: a claimed wake-up, a kill, the start of a greenlet spawned on
  // this hub from elsewhere. Each is in the hub's inbox at most once at a time.
  GreenletMessage wake_msg;
  GreenletMessage kill_msg;
  GreenletMessage start_msg;

  // grove::local<T> values and Group memberships (local.cpp); destroyed when the greenlet ends.
  void* locals = nullptr;
  // The green thread this greenlet runs (green_thread.cpp), if it is one.
  void* green_thread = nullptr;

  std::atomic<int> refs{1};  // handles (on any thread) and the scheduler
  std::size_t alloc_align = 0;  // the block was allocated with this alignment
  std::uint64_t id = 0;
  std::size_t stack_size = 0;
  std::string name;

  // AddressSanitizer fiber bookkeeping (unused otherwise).
  void* asan_fake_stack = nullptr;
  const void* asan_bottom = nullptr;
  std::size_t asan_size = 0;
  void* tsan_fiber = nullptr;  // ThreadSanitizer's fiber (unused otherwise)

  bool is_parked() const noexcept { return state == State::parked; }
  bool done() const noexcept { return join_state.load(std::memory_order_acquire) & kJoinDone; }
  const char* display_name() const noexcept { return name.c_str(); }
};

// Switch from `from` (the running greenlet) to `to`, which has a context: it ran before, or
// prepare_context() gave it one. Returns when some greenlet switches back to `from`.
void switch_to(GreenletCore* from, GreenletCore* to) noexcept;
// switch_to() for a yield: back in `from`, raises a pending kill or an expired Timeout scope
// there (raise_pending). One function, so that yield() ends in a tail call.
void switch_to_then_check(GreenletCore* from, GreenletCore* to);
// Throws GreenletExit if `g` was killed, TimeoutError if its innermost Timeout scope expired.
void raise_pending(const GreenletCore* g);
// The running greenlet has finished and left its stack in hub->dying_stack(): switch to `to`,
// which releases that stack once it runs on its own.
[[noreturn]] void switch_away_dead(GreenletCore* to) noexcept;
// Where this thread keeps its exception record and errno, for the switch path to swap them.
// Called on the hub's thread when its root greenlet is made.
void learn_thread_state(Hub* hub) noexcept;
// Gives a greenlet that never ran a stack and an initial context. Throws std::system_error.
void prepare_context(GreenletCore* g);

// Lifecycle (lifecycle.cpp).
// A greenlet of `hub`, made on any thread (spawn_on); start_elsewhere() queues it there. The
// caller keeps that hub alive for the call (hub_group.cpp holds the group's lock).
GreenletCore* create_on(Hub* hub, std::size_t body_size, std::size_t body_align, SpawnOptions&& opts);
void start_elsewhere(GreenletCore* g) noexcept;
GreenletCore* make_root(Hub* hub);
GreenletCore* make_hub_greenlet(Hub* hub);
void run_and_exit(GreenletCore* g) noexcept;  // a spawned greenlet's whole life, on its stack
void fail_unstarted(GreenletCore* g, std::exception_ptr e) noexcept;
void release_core(GreenletCore* g) noexcept;  // refs dropped to 0
// Destroys g's grove::local values (local.cpp); called as g ends, before finish().
void destroy_locals(GreenletCore* g) noexcept;

}  // namespace grove::detail

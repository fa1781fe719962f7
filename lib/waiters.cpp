// waiters.cpp — detail::Waiters (the public headers' view of WaitList) and uninterruptible waits.
//
// Hub-local primitives and grove::mt twins (detail/waiters.hpp)
// ---------------------------------------------------------------
// Issue 11 asked for Event, Queue, Semaphore, Mutex & co. between hubs, either by making the
// existing types thread-safe or by thread-safe twins, decided by measurement, with single-hub
// operations within 15 % of their figures before. Thread safety needs a lock (or an atomic
// read-modify-write) in every operation, and an atomic claim of the waiter's park; on this
// machine one uncontended locked instruction is ~4.9 ns. Measured on one hub, one binary,
// the same run (tests/bench/bench_sync, medians of 5, 2-core VM, 2026-12-01), plain type vs its
// grove::mt twin — that is, what every single-hub user would pay if the plain type were the
// thread-safe one:
//
//   put + get, no switch       4.4 ns  vs 16.4 ns  (x3.7)   Queue round trip   45 vs 61 ns/hand-over
//   Mutex lock + unlock        5.6 ns  vs 13.5 ns  (x2.4)   Channel round trip 45 vs 61
//   Semaphore acquire+release  3.8 ns  vs 13.6 ns  (x3.5)   Event ping-pong    43 vs 59
//
// (An earlier experiment, a spin lock added to the old Queue and a CAS to the old unpark:
// put + get 7.4 -> 14.4 ns, round trips unchanged — the hand-overs hide the locks behind the
// context switch, the data-structure operations cannot.) Every one of those is far beyond 15 %,
// so grove:: keeps hub-local types and grove::mt has the thread-safe twins. They are not a second
// sync layer: each operation is written once, as a template on Shared (detail::Section), and
// compiled twice — without lock or deferred wake-ups for grove::, with a SpinLock and wake-ups
// delivered after it for grove::mt — on the one WaitList/park/unpark underneath. The hub-local
// path of each operation stays inline in its caller (queue.hpp's put_until/get_until): behind one
// out-of-line call the Queue round trip cost 13-18 % more, one more mispredicted return after the
// switch. Before/after on main (bench_sync, release, taskset -c 1, medians of 5, same run,
// 2026-12-01; ns per iteration): Queue round trip 94.3 -> 90.1, Channel 97.0 -> 90.6, Event
// ping-pong 89.4 -> 85.9, put + get 6.86 -> 4.38, yield 30.4 -> 29.7, Pool::map(1000) 18.1 ->
// 18.9 ms (+4 %). An mt type derives from the plain one, so it can be passed wherever the plain
// one is expected.
#include "assert.hpp"
#include "grove/detail/waiters.hpp"

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

#include "grove/errors.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "uninterruptible.hpp"
#include "waiter.hpp"

namespace grove::detail {

namespace {

static_assert(sizeof(WaitList) <= 3 * sizeof(void*) && alignof(WaitList) <= alignof(void*),
              "detail::Waiters::storage_ is too small for WaitList");
static_assert(WaitList::head_offset() == 0, "detail::Waiters::empty() reads WaitList's head as its first pointer");

WaitList& list_of(std::byte* storage) noexcept { return *std::launder(reinterpret_cast<WaitList*>(storage)); }
const WaitList& list_of(const std::byte* storage) noexcept {
  return *std::launder(reinterpret_cast<const WaitList*>(storage));
}

// Parks on `list` with the primitive's lock held on entry and on return, released while parked.
Wake park_locked(WaitList& list, WaitNode& node, const char* reason, std::int64_t deadline_ns, PrimitiveLock& lock,
                 void (*before_park)(void*), void* arg, const void* object) {
  node.gen = node.g->park_gen;
  if (lock.shared()) share_park(node.g);
  list.push_back(&node);
  lock.unlock();
  if (before_park) before_park(arg);
  // A waker on another thread is invisible to this hub: it must not call the wait hopeless.
  Hub* hub = lock.shared() ? node.g->hub : nullptr;
  if (hub) hub->begin_shared_wait();
  const Wake w = park(reason, deadline_ns, -1, false, object);
  if (hub) hub->end_shared_wait();
  lock.lock();
  list.remove(&node);  // still linked unless a waker took it off
  return w;
}

Wake park_uninterruptibly_locked(WaitList& list, WaitNode& node, const char* reason, PrimitiveLock& lock,
                                 const void* object) {
  GreenletCore* self = node.g;
  SetAside aside(self);
  for (;;) {
    const Wake w = park_locked(list, node, reason, kNever, lock, nullptr, nullptr, object);
    if (w == Wake::unparked || w == Wake::blocked_forever) return w;
    aside.note_kill();  // killed (or a stray cause): wait on
  }
}

PrimitiveLock g_no_lock(false);  // hub-local: lock() and unlock() do nothing

}  // namespace

Wake park_on_uninterruptibly(WaitList& list, WaitNode& node, const char* reason, const void* object) {
  return park_uninterruptibly_locked(list, node, reason, g_no_lock, object);
}

bool join_uninterruptibly(GreenletCore* g) noexcept {
  if (g->state == State::dead) return true;
  WaitNode node = this_waiter();
  while (g->state != State::dead)
    if (park_on_uninterruptibly(g->joiners, node, "join (uninterruptible)", g) == Wake::blocked_forever) return false;
  return true;
}

Waiters::Waiters() noexcept { new (storage_) WaitList; }

Waiters::~Waiters() {
  WaitList& list = list_of(storage_);
  if (!list.empty()) {
    const WaitNode* n = list.front();
    GROVE_FATAL("%s destroyed while %zu greenlet(s) wait on it (first: '%s' in '%s'); wake or kill and join them "
                "before the %s goes out of scope",
                owner_, list.size(), n->g->name.c_str(), n->g->wait_reason ? n->g->wait_reason : "?", owner_);
  }
  list.~WaitList();
}

std::size_t Waiters::size() const noexcept { return list_of(storage_).size(); }

const char Waiters::kSharedHub = 0;

void Waiters::check_hub() const noexcept {
  const Hub* here = tl_ctx.hub;
  if (hub_ == here) [[likely]]
    return;
  GROVE_ASSERT(hub_ != &kSharedHub, "%s: a shared wait list used without its lock", owner_);
  if (!hub_) {
    hub_ = here;
    return;
  }
  GROVE_FATAL("%s used by two threads: it belongs to the hub of the thread that first waited on or woke it, and "
              "this thread %s. Primitives of grove:: work within one hub; use the grove::mt:: one to share it "
              "between hubs and threads",
              owner_, here ? "has another hub" : "has no hub");
}

namespace {

bool outcome(Wake w, const WaitNode& node, const char* reason) {
  switch (w) {
    case Wake::unparked: return true;
    case Wake::deadline: return false;
    default:
      raise_if_interrupted(w);
      throw UsageError(std::string("grove: greenlet '") + node.g->name + "' woken by '" + to_string(w) +
                       "' while waiting in '" + reason + "'");
  }
}

}  // namespace

bool Waiters::park(void* slot, const char* reason, std::int64_t deadline_ns, PrimitiveLock& lock,
                   void (*before_park)(void*), void* arg) {
  if (!shared_) check_hub();
  GROVE_ASSERT(lock.shared() == shared_, "%s: parked on with a lock of the other mode", owner_);
  WaitNode node = this_waiter();
  node.data = slot;
  return outcome(park_locked(list_of(storage_), node, reason, deadline_ns, lock, before_park, arg, this), node,
                 reason);
}

bool Waiters::park_uninterruptibly(void* slot, const char* reason, PrimitiveLock& lock) {
  if (!shared_) check_hub();
  WaitNode node = this_waiter();
  node.data = slot;
  return park_uninterruptibly_locked(list_of(storage_), node, reason, lock, this) == Wake::unparked;
}

// The hub-local forms: today's path, with no lock to step around (check_hub also refuses a
// shared list, whose hub_ is the sentinel).
bool Waiters::park(void* slot, const char* reason, std::int64_t deadline_ns, const void* object) {
  check_hub();
  WaitNode node = this_waiter();
  node.data = slot;
  WaitList& list = list_of(storage_);
  node.gen = node.g->park_gen;
  list.push_back(&node);
  const Wake w = detail::park(reason, deadline_ns, -1, false, object ? object : this);
  list.remove(&node);
  return outcome(w, node, reason);
}

bool Waiters::park_uninterruptibly(void* slot, const char* reason) {
  check_hub();
  WaitNode node = this_waiter();
  node.data = slot;
  return park_on_uninterruptibly(list_of(storage_), node, reason, this) == Wake::unparked;
}

bool Waiters::wake_one_listed(void** slot) noexcept {
  check_hub();
  WaitNode* n = list_of(storage_).wake_one();
  if (!n) return false;
  if (slot) *slot = n->data;
  return true;
}

std::size_t Waiters::wake_all_listed() noexcept {
  check_hub();
  return list_of(storage_).wake_all();
}

bool Waiters::wake_one_listed(Wakeups& wk, void** slot) noexcept {
  if (!shared_) return wake_one_listed(slot);  // wakes at once
  WaitNode* n = list_of(storage_).claim_one();
  if (!n) return false;
  if (slot) *slot = n->data;
  wk.add(n);
  return true;
}

std::size_t Waiters::wake_all_listed(Wakeups& wk) noexcept {
  if (!shared_) return wake_all_listed();
  std::size_t n = 0;
  while (WaitNode* w = list_of(storage_).claim_one()) {
    wk.add(w);
    ++n;
  }
  return n;
}

void Wakeups::add(WaitNode* n) noexcept {
  n->next = nullptr;
  (tail_ ? tail_->next : head_) = n;
  tail_ = n;
}

void Wakeups::deliver() noexcept {
  WaitNode* n = std::exchange(head_, nullptr);
  tail_ = nullptr;
  while (n) {
    // Read the node before the wake-up: once delivered, its greenlet may run and leave.
    WaitNode* next = n->next;
    detail::deliver(n->g);
    n = next;
  }
}

}  // namespace grove::detail

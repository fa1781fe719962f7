// detail/waiters.hpp — the hub's wait list, as the primitives in grove's public headers see it.
//
// Every blocking primitive (Event, Semaphore, Mutex, CondVar, WaitGroup, Queue, Pool …) parks
// through this one class, which is lib/waiter.hpp's WaitList + park_on + raise_if_interrupted
// behind a header that does not expose the runtime's internals. The list itself is built in
// place in `storage_` by lib/waiters.cpp, so a primitive costs no allocation.
//
// Hand-over protocol. A waiter parks with a pointer to a `slot` on its own stack. A waker that
// gives it something (a permit, an item, ownership of a mutex) calls wake_one(), which removes
// the first waiter whose park is still current and makes it ready, and then writes into that
// waiter's slot before anything else can run. park() returns true for a waiter woken that way:
// what is in its slot is now its own, even if a kill or a timeout arrives before it runs (those
// are delivered at its next blocking call). A waiter interrupted first is skipped by wake_one,
// so nothing handed over is ever lost.
//
// Waiters wake in FIFO order. Internal: use the primitives.
//
// Hub-local and shared. A primitive of grove:: belongs to one hub: its waiters and wakers all
// run on one thread, so it needs no lock. Its Waiters check that where it costs nothing next to
// the work — every park, and every wake-up of a waiter: one from a second hub or thread is a
// fatal error naming the primitive (the first use there that waits or hands over is caught;
// operations that neither wait nor find a waiter are not checked).
// A primitive of grove::mt (the same class, built in shared mode) works between hubs and plain
// threads: its PrimitiveLock is a real SpinLock, held around every operation and released
// while a greenlet is parked; wakers claim waiters under it, write their hand-over, and deliver
// the wake-ups in a Wakeups batch once it is released (lib/waiter.hpp). Why two kinds instead of
// one thread-safe kind: see lib/waiters.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core.hpp"
#include "spin_lock.hpp"

namespace grove::detail {

struct WaitNode;

// Selects the shared (grove::mt) constructor of a primitive.
struct SharedTag {
  explicit SharedTag() = default;
};
inline constexpr SharedTag shared{};

// The lock of a primitive: a SpinLock in shared (grove::mt) mode, nothing in hub-local mode.
// Usable with std::lock_guard and std::unique_lock.
class PrimitiveLock {
 public:
  explicit PrimitiveLock(bool shared) noexcept : shared_(shared) {}
  PrimitiveLock(const PrimitiveLock&) = delete;
  PrimitiveLock& operator=(const PrimitiveLock&) = delete;
  void lock() noexcept {
    if (shared_) spin_.lock();
  }
  void unlock() noexcept {
    if (shared_) spin_.unlock();
  }
  bool shared() const noexcept { return shared_; }

 private:
  SpinLock spin_;
  const bool shared_;
};

// Wake-ups claimed under a PrimitiveLock, delivered when this goes out of scope. Declare it
// before the lock guard, so that the lock is released first.
class Wakeups {
 public:
  Wakeups() noexcept = default;
  Wakeups(const Wakeups&) = delete;
  Wakeups& operator=(const Wakeups&) = delete;
  ~Wakeups() {
    if (head_) deliver();
  }
  void add(WaitNode* n) noexcept;  // claimed and off its list
  void deliver() noexcept;

 private:
  WaitNode* head_ = nullptr;
  WaitNode* tail_ = nullptr;
};

class Waiters {
 public:
  Waiters() noexcept;
  // Destroying a list that greenlets still wait on is a fatal error (they would touch freed
  // memory when they wake); the message names the primitive, the greenlet and its wait.
  ~Waiters();
  Waiters(const Waiters&) = delete;
  Waiters& operator=(const Waiters&) = delete;

  // Shared mode (grove::mt): set once by the primitive's constructor, before any use.
  void set_shared() noexcept {
    shared_ = true;
    hub_ = &kSharedHub;  // so that the hub-local forms refuse it
  }

  bool empty() const noexcept {
    void* head;
    std::memcpy(&head, storage_, sizeof head);  // WaitList's first member (checked in waiters.cpp)
    return head == nullptr;
  }
  std::size_t size() const noexcept;  // parked, plus interrupted ones not yet run

  // Parks the running greenlet at the tail until woken by wake_one/wake_all (true) or until
  // deadline_ns passes (false). Throws GreenletExit (killed), TimeoutError (an enclosing
  // grove::Timeout expired) or BlockedForever. `reason` must be a string literal. Dumps show
  // the wait as "<reason> 0x<object>": this list's address unless `object` names another (the
  // pthread_mutex_t a green thread waits for).
  bool park(void* slot, const char* reason, std::int64_t deadline_ns = kNever, const void* object = nullptr);

  // Like park() with no deadline, but a kill or an expiring Timeout scope neither wakes nor
  // throws: they are set aside and delivered at the caller's next blocking call. For waits that
  // must complete even while unwinding (re-taking a CondVar's mutex, reaping children). Returns
  // false only when the hub finds nothing can ever wake the caller.
  bool park_uninterruptibly(void* slot, const char* reason);

  // Wakes the first waiter whose park is current; false if there is none. *slot receives the
  // pointer it parked with: write the hand-over there before the next blocking call.
  bool wake_one(void** slot = nullptr) noexcept { return !empty() && wake_one_listed(slot); }
  std::size_t wake_all() noexcept { return empty() ? 0 : wake_all_listed(); }

  // The same for either mode. `lock` is the primitive's: held on entry and on return (also when
  // park throws), released while parked. `before_park(arg)`, if given, runs after the caller is
  // on the list and the lock is released, just before it parks (CondVar releases its mutex
  // there). Wakers add what they claim to `wk`; in hub-local mode they wake at once.
  bool park(void* slot, const char* reason, std::int64_t deadline_ns, PrimitiveLock& lock,
            void (*before_park)(void*) = nullptr, void* arg = nullptr);
  bool park_uninterruptibly(void* slot, const char* reason, PrimitiveLock& lock);
  bool wake_one(Wakeups& wk, void** slot = nullptr) noexcept { return !empty() && wake_one_listed(wk, slot); }
  std::size_t wake_all(Wakeups& wk) noexcept { return empty() ? 0 : wake_all_listed(wk); }

  // Name used in fatal messages ("Event", "Queue" …); a string literal.
  void set_owner_name(const char* name) noexcept { owner_ = name; }

 private:
  static const char kSharedHub;
  void check_hub() const noexcept;
  bool wake_one_listed(void** slot) noexcept;
  std::size_t wake_all_listed() noexcept;
  bool wake_one_listed(Wakeups& wk, void** slot) noexcept;
  std::size_t wake_all_listed(Wakeups& wk) noexcept;

  alignas(void*) std::byte storage_[3 * sizeof(void*)];
  const char* owner_ = "wait list";
  mutable const void* hub_ = nullptr;  // hub-local mode: the hub it belongs to, once known
  bool shared_ = false;
};

// One operation on a primitive: its lock and the wake-ups it claims, as the mode needs them.
// Primitives write each operation once, as a template on Shared, and pick the instantiation
// by PrimitiveLock::shared(): in the hub-local one, locking, deferred delivery and their
// branches compile away, so a grove:: primitive runs the code it ran before grove::mt existed.
template <bool Shared>
class Section;

template <>
class Section<false> {
 public:
  explicit Section(PrimitiveLock&) noexcept {}
  void unlock() noexcept {}
  bool wake_one(Waiters& w, void** slot = nullptr) noexcept { return w.wake_one(slot); }
  std::size_t wake_all(Waiters& w) noexcept { return w.wake_all(); }
  bool park(Waiters& w, void* slot, const char* reason, std::int64_t deadline_ns) {
    return w.park(slot, reason, deadline_ns);
  }
  bool park_uninterruptibly(Waiters& w, void* slot, const char* reason) {
    return w.park_uninterruptibly(slot, reason);
  }
};

template <>
class Section<true> {
 public:
  explicit Section(PrimitiveLock& lock) noexcept : lock_(lock) { lock_.lock(); }
  ~Section() {
    if (locked_) lock_.unlock();
    // wk_ delivers after this, outside the lock
  }
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;
  // Before throwing from inside the operation, or to let the wake-ups go early.
  void unlock() noexcept {
    if (locked_) lock_.unlock();
    locked_ = false;
  }
  bool wake_one(Waiters& w, void** slot = nullptr) noexcept { return w.wake_one(wk_, slot); }
  std::size_t wake_all(Waiters& w) noexcept { return w.wake_all(wk_); }
  bool park(Waiters& w, void* slot, const char* reason, std::int64_t deadline_ns) {
    return w.park(slot, reason, deadline_ns, lock_);
  }
  bool park_uninterruptibly(Waiters& w, void* slot, const char* reason) {
    return w.park_uninterruptibly(slot, reason, lock_);
  }

 private:
  Wakeups wk_;  // declared first: destroyed after the lock is released
  PrimitiveLock& lock_;
  bool locked_ = true;
};

}  // namespace grove::detail

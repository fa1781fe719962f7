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
#pragma once

#include <cstddef>
#include <cstdint>

#include "core.hpp"

namespace grove::detail {

class Waiters {
 public:
  Waiters() noexcept;
  // Destroying a list that greenlets still wait on is a fatal error (they would touch freed
  // memory when they wake); the message names the primitive, the greenlet and its wait.
  ~Waiters();
  Waiters(const Waiters&) = delete;
  Waiters& operator=(const Waiters&) = delete;

  bool empty() const noexcept;
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
  bool wake_one(void** slot = nullptr) noexcept;
  std::size_t wake_all() noexcept;

  // Name used in fatal messages ("Event", "Queue" …); a string literal.
  void set_owner_name(const char* name) noexcept { owner_ = name; }

 private:
  alignas(void*) std::byte storage_[3 * sizeof(void*)];
  const char* owner_ = "wait list";
};

}  // namespace grove::detail

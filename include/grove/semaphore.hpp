// semaphore.hpp — grove::Semaphore and grove::BoundedSemaphore: counting permits.
//
//   grove::Semaphore slots(4);
//   { std::lock_guard hold(slots); talk_to_backend(); }   // at most 4 greenlets at a time
//
// release() hands its permit directly to the longest-waiting greenlet (FIFO), so a greenlet
// arriving later cannot overtake one that waits, and a waiter that was handed a permit keeps it
// even if it is killed or times out before it runs (it then owns it: the kill is delivered at its
// next blocking call, and RAII releases the permit as it unwinds). acquire() honours kill() and
// grove::Timeout scopes. lock()/unlock()/try_lock() make it usable with std::lock_guard.
#pragma once

#include <cstddef>

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

class Semaphore {
 public:
  explicit Semaphore(std::size_t permits = 1) noexcept : count_(permits) {
    waiters_.set_owner_name("grove::Semaphore");
  }
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Takes a permit, parking until one is free.
  void acquire();
  // false if `timeout` passed first (no permit taken).
  bool acquire(Duration timeout);
  // Takes a permit only if one is free now.
  bool try_acquire() noexcept;
  // Returns `n` permits (to waiters first). Never blocks. A BoundedSemaphore throws
  // grove::UsageError instead of going above its initial count.
  void release(std::size_t n = 1);

  std::size_t available() const noexcept { return count_; }
  bool locked() const noexcept { return count_ == 0; }
  std::size_t waiting() const noexcept { return waiters_.size(); }

  void lock() { acquire(); }
  bool try_lock() noexcept { return try_acquire(); }
  void unlock() { release(); }

 protected:
  Semaphore(std::size_t permits, std::size_t bound) noexcept : count_(permits), bound_(bound) {
    waiters_.set_owner_name("grove::BoundedSemaphore");
  }

 private:
  bool acquire_until(std::int64_t deadline_ns);

  std::size_t count_;
  std::size_t bound_ = static_cast<std::size_t>(-1);  // most permits it may hold
  detail::Waiters waiters_;
};

// A Semaphore that refuses to be released more often than it was acquired: catches double
// releases, which an unbounded semaphore silently turns into extra concurrency.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t permits = 1) noexcept : Semaphore(permits, permits) {}
};

}  // namespace grove

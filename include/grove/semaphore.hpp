// semaphore.hpp — grove::Semaphore and grove::BoundedSemaphore: counting permits; their grove::mt
// twins work between hubs.
//
//   grove::Semaphore slots(4);
//   { std::lock_guard hold(slots); talk_to_backend(); }   // at most 4 greenlets at a time
//
// release() hands its permit directly to the longest-waiting greenlet (FIFO), so a greenlet
// arriving later cannot overtake one that waits, and a waiter that was handed a permit keeps it
// even if it is killed or times out before it runs (it then owns it: the kill is delivered at its
// next blocking call, and RAII releases the permit as it unwinds). acquire() honours kill() and
// grove::Timeout scopes. lock()/unlock()/try_lock() make it usable with std::lock_guard.
//
// grove::Semaphore belongs to one hub; grove::mt::Semaphore and grove::mt::BoundedSemaphore work
// between greenlets of different hubs and plain threads, with the same guarantees (FIFO across
// all of them). A plain thread may release() without a hub; one that acquires gets a hub for it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

class Semaphore {
 public:
  explicit Semaphore(std::size_t permits = 1) noexcept : Semaphore(false, permits, SIZE_MAX, "grove::Semaphore") {}
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

  std::size_t available() const noexcept { return count_.load(std::memory_order_relaxed); }
  bool locked() const noexcept { return available() == 0; }
  std::size_t waiting() const noexcept;

  void lock() { acquire(); }
  bool try_lock() noexcept { return try_acquire(); }
  void unlock() { release(); }

 protected:
  Semaphore(bool shared, std::size_t permits, std::size_t bound, const char* name) noexcept
      : lock_(shared), count_(permits), bound_(bound) {
    waiters_.set_owner_name(name);
    if (shared) waiters_.set_shared();
  }

 private:
  bool acquire_until(std::int64_t deadline_ns);
  template <bool Shared>
  bool acquire_impl(std::int64_t deadline_ns);
  template <bool Shared>
  void release_impl(std::size_t n);

  mutable detail::PrimitiveLock lock_;
  std::atomic<std::size_t> count_;
  std::size_t bound_;  // most permits it may hold
  detail::Waiters waiters_;
};

// A Semaphore that refuses to be released more often than it was acquired: catches double
// releases, which an unbounded semaphore silently turns into extra concurrency.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t permits = 1) noexcept
      : Semaphore(false, permits, permits, "grove::BoundedSemaphore") {}
};

namespace mt {

// grove::Semaphore for greenlets of several hubs and plain threads.
class Semaphore : public grove::Semaphore {
 public:
  explicit Semaphore(std::size_t permits = 1) noexcept
      : grove::Semaphore(true, permits, SIZE_MAX, "grove::mt::Semaphore") {}

 protected:
  Semaphore(std::size_t permits, std::size_t bound, const char* name) noexcept
      : grove::Semaphore(true, permits, bound, name) {}
};

// grove::BoundedSemaphore for greenlets of several hubs and plain threads.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t permits = 1) noexcept
      : Semaphore(permits, permits, "grove::mt::BoundedSemaphore") {}
};

}  // namespace mt

}  // namespace grove

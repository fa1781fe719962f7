// detail/spin_lock.hpp — the lock of grove's cross-hub (grove::mt) primitives and greenlet handles.
//
// Held only around a few dozen instructions that never park (list links, a counter, moving one
// item), so an uncontended lock is one atomic exchange and a release store. Under contention it
// spins briefly and then yields the CPU with a raw sched_yield — never a libc call the
// interposer might turn into a park, and never a futex sleep: the holder is running on another
// core (or was preempted there), never waiting for us. Internal: use the primitives.
#pragma once

#include <atomic>

namespace grove::detail {

class SpinLock {
 public:
  void lock() noexcept {
    if (!held_.exchange(true, std::memory_order_acquire)) [[likely]]
      return;
    lock_contended();
  }
  bool try_lock() noexcept {
    return !held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  void lock_contended() noexcept;  // spin_lock.cpp
  std::atomic<bool> held_{false};
};

}  // namespace grove::detail

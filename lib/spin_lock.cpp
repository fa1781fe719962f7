// spin_lock.cpp — the contended path of detail::SpinLock (grove/detail/spin_lock.hpp).
#include "grove/detail/spin_lock.hpp"

#include "sys.hpp"

namespace grove::detail {

namespace {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace

void SpinLock::lock_contended() noexcept {
  // Critical sections are a few dozen instructions: a holder that is running releases within a
  // few hundred cycles. Past that it was preempted, and the CPU is better given away.
  for (unsigned spins = 0;; ++spins) {
    if (!held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire)) return;
    if (spins < 64)
      cpu_relax();
    else
      sys::sched_yield();
  }
}

}  // namespace grove::detail

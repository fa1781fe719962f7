// semaphore.cpp — counting permits handed over FIFO through detail::Waiters (both modes).
//
// Invariant: while greenlets wait, count_ is 0 — release() gives permits to waiters before it
// adds to the count — so try_acquire() can never overtake a waiter. In shared mode everything
// below runs under lock_ (released while a greenlet is parked), and a permit handed to a waiter
// of another hub is written into its slot before its wake-up is delivered.
#include "grove/semaphore.hpp"

#include <mutex>
#include <string>

#include "grove/errors.hpp"
#include "grove/greenlet.hpp"

namespace grove {

bool Semaphore::try_acquire() noexcept {
  std::lock_guard lock(lock_);
  const std::size_t c = count_.load(std::memory_order_relaxed);
  if (c == 0) return false;
  count_.store(c - 1, std::memory_order_relaxed);
  return true;
}

std::size_t Semaphore::waiting() const noexcept {
  std::lock_guard lock(lock_);
  return waiters_.size();
}

void Semaphore::acquire() { acquire_until(detail::kNever); }

bool Semaphore::acquire(Duration timeout) { return acquire_until(detail::deadline_after(timeout)); }

template <bool Shared>
bool Semaphore::acquire_impl(std::int64_t deadline_ns) {
  detail::Section<Shared> op(lock_);
  if (const std::size_t c = count_.load(std::memory_order_relaxed); c > 0) {
    count_.store(c - 1, std::memory_order_relaxed);
    return true;
  }
  bool granted = false;
  while (!granted)
    if (!op.park(waiters_, &granted, "Semaphore::acquire", deadline_ns)) return false;
  return true;
}

bool Semaphore::acquire_until(std::int64_t deadline_ns) {
  return lock_.shared() ? acquire_impl<true>(deadline_ns) : acquire_impl<false>(deadline_ns);
}

template <bool Shared>
void Semaphore::release_impl(std::size_t n) {
  detail::Section<Shared> op(lock_);
  const std::size_t count = count_.load(std::memory_order_relaxed);
  if (n > bound_ - count) {
    op.unlock();
    throw UsageError("grove::BoundedSemaphore released more times than acquired (by greenlet '" +
                     grove::current().name() + "', " + std::to_string(count) + " of " + std::to_string(bound_) +
                     " permits already free); release only what you acquired");
  }
  std::size_t added = 0;
  for (; n > 0; --n) {
    void* slot = nullptr;
    if (op.wake_one(waiters_, &slot))
      *static_cast<bool*>(slot) = true;  // the permit is the waiter's now
    else
      ++added;
  }
  count_.store(count + added, std::memory_order_relaxed);
}

void Semaphore::release(std::size_t n) { lock_.shared() ? release_impl<true>(n) : release_impl<false>(n); }

}  // namespace grove

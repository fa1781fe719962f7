// semaphore.cpp — counting permits handed over FIFO through detail::Waiters.
//
// Invariant: while greenlets wait, count_ is 0 — release() gives permits to waiters before it
// adds to the count — so try_acquire() can never overtake a waiter.
#include "grove/semaphore.hpp"

#include <string>

#include "grove/errors.hpp"
#include "grove/greenlet.hpp"

namespace grove {

bool Semaphore::try_acquire() noexcept {
  if (count_ == 0) return false;
  --count_;
  return true;
}

void Semaphore::acquire() { acquire_until(detail::kNever); }

bool Semaphore::acquire(Duration timeout) { return acquire_until(detail::deadline_after(timeout)); }

bool Semaphore::acquire_until(std::int64_t deadline_ns) {
  if (try_acquire()) return true;
  bool granted = false;
  while (!granted)
    if (!waiters_.park(&granted, "Semaphore::acquire", deadline_ns)) return false;
  return true;
}

void Semaphore::release(std::size_t n) {
  if (n > bound_ - count_)
    throw UsageError("grove::BoundedSemaphore released more times than acquired (by greenlet '" +
                     grove::current().name() + "', " + std::to_string(count_) + " of " +
                     std::to_string(bound_) + " permits already free); release only what you acquired");
  for (; n > 0; --n) {
    void* slot = nullptr;
    if (waiters_.wake_one(&slot))
      *static_cast<bool*>(slot) = true;  // the permit is the waiter's now
    else
      ++count_;
  }
}

}  // namespace grove

// condvar.cpp — CondVar on detail::Waiters; the mutex is re-taken uninterruptibly.
#include "grove/condvar.hpp"

#include <exception>
#include <string>

#include "grove/errors.hpp"
#include "greenlet.hpp"

namespace grove {

void CondVar::notify_one() noexcept { waiters_.wake_one(); }

void CondVar::notify_all() noexcept { waiters_.wake_all(); }

bool CondVar::wait_until(std::unique_lock<Mutex>& lock, std::int64_t deadline_ns) {
  Mutex* m = lock.mutex();
  if (!m || !lock.owns_lock() || !m->held())
    throw UsageError("grove::CondVar::wait: greenlet '" + detail::current()->name +
                     "' does not hold the lock it passed; lock the mutex first");
  // No switch happens between the unlock and the park, so no notify can be missed.
  m->unlock();
  bool notified = false;
  std::exception_ptr interrupted;
  try {
    notified = waiters_.park(nullptr, "CondVar::wait", deadline_ns);
  } catch (...) {
    interrupted = std::current_exception();
  }
  m->relock_uninterruptibly();
  if (interrupted) std::rethrow_exception(interrupted);
  return notified;
}

}  // namespace grove

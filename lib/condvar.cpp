// condvar.cpp — CondVar on detail::Waiters; the mutex is re-taken uninterruptibly.
//
// No lost notify: the waiter is on the wait list before it releases the mutex (the mutex is
// released by Waiters::park's before_park step, after the list's lock is dropped). A notifier
// that runs after the waiter released the mutex — on this hub or any other thread — finds it.
#include "grove/condvar.hpp"

#include <exception>
#include <string>

#include "grove/errors.hpp"
#include "greenlet.hpp"

namespace grove {

template <bool Shared>
void CondVar::notify_impl(bool all) noexcept {
  detail::Section<Shared> op(lock_);
  if (all)
    op.wake_all(waiters_);
  else
    op.wake_one(waiters_);
}

void CondVar::notify_one() noexcept { lock_.shared() ? notify_impl<true>(false) : notify_impl<false>(false); }

void CondVar::notify_all() noexcept { lock_.shared() ? notify_impl<true>(true) : notify_impl<false>(true); }

std::size_t CondVar::waiting() const noexcept {
  std::lock_guard lock(lock_);
  return waiters_.size();
}

bool CondVar::wait_until(Mutex* m, bool owns, std::int64_t deadline_ns) {
  if (!m || !owns || !m->held())
    throw UsageError("grove::CondVar::wait: greenlet '" + detail::current()->name +
                     "' does not hold the lock it passed; lock the mutex first");
  bool notified = false;
  std::exception_ptr interrupted;
  try {
    std::lock_guard lock(lock_);
    notified = waiters_.park(nullptr, "CondVar::wait", deadline_ns, lock_,
                             [](void* mutex) { static_cast<Mutex*>(mutex)->unlock_held(); }, m);
  } catch (...) {
    interrupted = std::current_exception();
  }
  m->relock_uninterruptibly();
  if (interrupted) std::rethrow_exception(interrupted);
  return notified;
}

}  // namespace grove

// wait_group.cpp — a counter whose zero wakes every waiter through detail::Waiters.
#include "grove/wait_group.hpp"

#include <string>

#include "grove/errors.hpp"
#include "grove/greenlet.hpp"

namespace grove {

void WaitGroup::done() {
  if (count_ == 0)
    throw UsageError("grove::WaitGroup::done called more often than add (by greenlet '" + grove::current().name() +
                     "'); the counter would go negative");
  if (--count_ == 0) waiters_.wake_all();
}

void WaitGroup::wait() { wait_until(detail::kNever); }

bool WaitGroup::wait(Duration timeout) { return wait_until(detail::deadline_after(timeout)); }

bool WaitGroup::wait_until(std::int64_t deadline_ns) {
  if (count_ == 0) return true;
  return waiters_.park(nullptr, "WaitGroup::wait", deadline_ns);
}

}  // namespace grove

// wait_group.cpp — a counter whose zero wakes every waiter through detail::Waiters (both modes).
#include "grove/wait_group.hpp"

#include <string>

#include "grove/errors.hpp"
#include "grove/greenlet.hpp"

namespace grove {

template <bool Shared>
void WaitGroup::done_impl() {
  detail::Section<Shared> op(lock_);
  const std::size_t c = count_.load(std::memory_order_relaxed);
  if (c == 0) {
    op.unlock();
    throw UsageError("grove::WaitGroup::done called more often than add (by greenlet '" + grove::current().name() +
                     "'); the counter would go negative");
  }
  count_.store(c - 1, std::memory_order_release);
  if (c == 1) op.wake_all(waiters_);
}

void WaitGroup::done() { lock_.shared() ? done_impl<true>() : done_impl<false>(); }

void WaitGroup::wait() { wait_until(detail::kNever); }

bool WaitGroup::wait(Duration timeout) { return wait_until(detail::deadline_after(timeout)); }

template <bool Shared>
bool WaitGroup::wait_impl(std::int64_t deadline_ns) {
  detail::Section<Shared> op(lock_);
  if (count_.load(std::memory_order_relaxed) == 0) return true;
  return op.park(waiters_, nullptr, "WaitGroup::wait", deadline_ns);
}

bool WaitGroup::wait_until(std::int64_t deadline_ns) {
  if (count_.load(std::memory_order_acquire) == 0) return true;
  return lock_.shared() ? wait_impl<true>(deadline_ns) : wait_impl<false>(deadline_ns);
}

}  // namespace grove

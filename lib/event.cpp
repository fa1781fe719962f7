// event.cpp — grove::Event and grove::mt::Event on the hub's wait list (detail::Waiters).
#include "grove/event.hpp"

namespace grove {

template <bool Shared>
void Event::set_impl() noexcept {
  detail::Section<Shared> op(lock_);
  set_.store(true, std::memory_order_release);
  op.wake_all(waiters_);
}

void Event::set() noexcept { lock_.shared() ? set_impl<true>() : set_impl<false>(); }

void Event::clear_shared() noexcept {
  std::lock_guard lock(lock_);
  set_.store(false, std::memory_order_relaxed);
}

std::size_t Event::waiting() const noexcept {
  std::lock_guard lock(lock_);
  return waiters_.size();
}

bool Event::wait() { return wait_until(detail::kNever); }

bool Event::wait(Duration timeout) { return wait_until(detail::deadline_after(timeout)); }

template <bool Shared>
bool Event::wait_impl(std::int64_t deadline_ns) {
  detail::Section<Shared> op(lock_);
  if (set_.load(std::memory_order_relaxed)) return true;
  // Only set() wakes this list, so being woken means the event was set.
  return op.park(waiters_, nullptr, "Event::wait", deadline_ns);
}

bool Event::wait_until(std::int64_t deadline_ns) {
  if (set_.load(std::memory_order_acquire)) return true;
  return lock_.shared() ? wait_impl<true>(deadline_ns) : wait_impl<false>(deadline_ns);
}

}  // namespace grove

// --- AsyncResult support (async_result.hpp) -------------------------------------------------------

#include <cstdio>
#include <string>

#include "grove/async_result.hpp"
#include "grove/detail/core.hpp"
#include "grove/greenlet.hpp"

namespace grove::detail {

void throw_result_timeout(const char* what, Duration timeout) {
  char msg[256];
  std::snprintf(msg, sizeof msg, "%s: no result within %.3f ms (greenlet '%s')", what,
                static_cast<double>(timeout.count()) / 1e6, grove::current().name().c_str());
  throw TimeoutError(nullptr, msg);
}

void throw_already_set(const char* what) {
  throw UsageError(std::string(what) + " set twice (by greenlet '" + grove::current().name() +
                   "'); it holds one value or exception — use a Queue for a stream of them");
}

}  // namespace grove::detail

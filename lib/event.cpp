// event.cpp — grove::Event on the hub's wait list (detail::Waiters).
#include "grove/event.hpp"

namespace grove {

void Event::set() noexcept {
  set_ = true;
  waiters_.wake_all();
}

bool Event::wait() { return wait_until(detail::kNever); }

bool Event::wait(Duration timeout) { return wait_until(detail::deadline_after(timeout)); }

bool Event::wait_until(std::int64_t deadline_ns) {
  if (set_) return true;
  // Only set() wakes this list, so being woken means the event was set.
  return waiters_.park(nullptr, "Event::wait", deadline_ns);
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

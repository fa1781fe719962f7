// time.hpp — sleeping, yielding and Timeout scopes.
#pragma once

#include <chrono>
#include <cstdint>

namespace grove {

using Clock = std::chrono::steady_clock;
using Duration = std::chrono::nanoseconds;

// Park the calling greenlet for `d`; other greenlets run meanwhile. sleep(0) (or a negative
// duration) yields: every other ready greenlet runs once before the caller continues.
void sleep(Duration d);
// Park until the steady clock reaches `t` (a time in the past only yields). Greenlets sleeping
// until the same instant wake in the order they went to sleep.
void sleep_until(Clock::time_point t);
// Same as sleep(0).
void yield();

// A scope with a deadline. While it lives, any blocking grove call made by this greenlet throws
// grove::TimeoutError once the deadline has passed — and keeps throwing at every further blocking
// call inside the scope, so code that swallows the first one cannot block past the deadline.
// Nested scopes: the earliest deadline wins, and the error names the scope that expired.
// Must be destroyed by the greenlet that created it (it is not movable).
class Timeout {
 public:
  explicit Timeout(Duration d);
  ~Timeout();
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;

  bool expired() const noexcept;
  Clock::time_point deadline() const noexcept;
  Duration remaining() const noexcept;

 private:
  friend struct TimeoutAccess;
  std::int64_t deadline_ns_;
  std::int64_t effective_ns_;  // min(deadline, enclosing scopes' deadlines)
  Timeout* outer_;
  void* owner_;
};

}  // namespace grove

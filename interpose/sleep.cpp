// sleep.cpp — sleep, usleep, nanosleep, clock_nanosleep: park instead of blocking the thread.
#include <time.h>

#include <algorithm>
#include <unistd.h>

#include "hook.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

namespace {

constexpr std::int64_t kNs = 1'000'000'000;

bool valid(const timespec* t) noexcept { return t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < kNs; }

void set_remaining(timespec* rem, std::int64_t deadline) noexcept {
  if (!rem) return;
  std::int64_t left = std::max<std::int64_t>(0, deadline - nothrow::now_ns());
  rem->tv_sec = left / kNs;
  rem->tv_nsec = left % kNs;
}

std::int64_t to_ns(const timespec* t) noexcept {
  if (t->tv_sec > (INT64_MAX - t->tv_nsec) / kNs) return INT64_MAX;
  return std::int64_t{t->tv_sec} * kNs + t->tv_nsec;
}

// 0, or the errno to report; `deadline` is on the monotonic clock.
int sleep_until(std::int64_t deadline) noexcept { return -nothrow::sleep_until(deadline); }

}  // namespace

extern "C" {

int nanosleep(const timespec* req, timespec* rem) {
  if (!active()) return real::nanosleep(req, rem);
  if (!req || !valid(req)) return ret<int>(-EINVAL);
  const int saved = errno;
  const std::int64_t deadline = nothrow::deadline_after_ns(to_ns(req));
  if (int e = sleep_until(deadline); e != 0) {
    set_remaining(rem, deadline);
    return ret<int>(-e);
  }
  errno = saved;
  return 0;
}

int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem) {
  if (!active() || (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME && clock != CLOCK_BOOTTIME &&
                          clock != CLOCK_TAI))
    return real::clock_nanosleep(clock, flags, req, rem);  // CPU-time clocks and the like
  if (!req || !valid(req)) return EINVAL;
  std::int64_t deadline;
  if (flags & TIMER_ABSTIME) {
    timespec now;
    ::clock_gettime(clock, &now);
    deadline = nothrow::deadline_after_ns(to_ns(req) - to_ns(&now));
  } else {
    deadline = nothrow::deadline_after_ns(to_ns(req));
  }
  if (int e = sleep_until(deadline); e != 0) {
    if (!(flags & TIMER_ABSTIME)) set_remaining(rem, deadline);
    return e;  // clock_nanosleep returns the error instead of setting errno
  }
  return 0;
}

int usleep(useconds_t us) {
  if (!active()) return real::usleep(us);
  const int saved = errno;
  if (int e = sleep_until(nothrow::deadline_after_ns(std::int64_t{us} * 1000)); e != 0) return ret<int>(-e);
  errno = saved;
  return 0;
}

unsigned sleep(unsigned seconds) {
  if (!active()) return real::sleep(seconds);
  const std::int64_t deadline = nothrow::deadline_after_ns(std::int64_t{seconds} * kNs);
  const int saved = errno;
  if (int e = sleep_until(deadline); e != 0) {
    errno = e;
    const std::int64_t left = std::max<std::int64_t>(0, deadline - nothrow::now_ns());
    return static_cast<unsigned>((left + kNs - 1) / kNs);  // unslept seconds, rounded up as libc does
  }
  errno = saved;
  return 0;
}

}  // extern "C"

GROVE_ALIAS(nanosleep, __nanosleep)

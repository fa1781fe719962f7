// assert.hpp — invariants that stay checked in release builds.
//
// A broken invariant in a scheduler is never something to continue past: a greenlet resumed twice
// or a waiter list corrupted turns into a hang or a crash far from the cause. GROVE_ASSERT says
// where and why, on stderr through a raw write (usable inside signal handlers and the hub), then
// aborts. GROVE_FATAL is the same without a condition, for states that cannot be continued from
// (the hub failing to poll, a blocking call inside the hub).
#pragma once

namespace grove::detail {

[[noreturn]] void fail_invariant(const char* file, int line, const char* condition, const char* fmt, ...) noexcept
    __attribute__((format(printf, 4, 5)));

}  // namespace grove::detail

#define GROVE_ASSERT(cond, ...)                                                          \
  do {                                                                                   \
    if (!(cond)) [[unlikely]]                                                            \
      ::grove::detail::fail_invariant(__FILE__, __LINE__, #cond, __VA_ARGS__);           \
  } while (0)

#define GROVE_FATAL(...) ::grove::detail::fail_invariant(__FILE__, __LINE__, nullptr, __VA_ARGS__)

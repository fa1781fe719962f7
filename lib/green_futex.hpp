// green_futex.hpp — waiting on a 32-bit word, for greenlets and OS threads alike.
//
// The one waiting mechanism of green threads (DESIGN §8): pthread mutexes, condition variables,
// rwlocks, barriers, semaphores and pthread_once are built on it, in glibc's own layouts (the
// words waited on are fields of the program's objects), and so is syscall(SYS_futex) for the
// program's own futexes (libstdc++'s atomic wait, latch, counting_semaphore).
//
// A caller that can park (a greenlet, a green thread) waits in a table keyed by the word's address
// — 1024 buckets, each a spinlock and an intrusive list of the waiters' nodes, which live on the
// waiters' stacks: nothing is allocated per object, nothing is left behind when an object is freed
// without being destroyed. A caller that cannot (an OS thread without a hub: grove's offload
// workers, threads glibc creates, code that runs before the main thread's hub) waits in the
// kernel with FUTEX_WAIT, counted per bucket so that a wake knows when the kernel must be asked
// too. futex_wake wakes greenlets first (across threads through their hub's post queue), then
// threads. Both tolerate spurious wake-ups, as futexes do: callers re-check their word.
#pragma once

#include <cstdint>

namespace grove::detail {

enum class FutexWait : std::uint8_t {
  woken,        // woken, or the word changed: re-check
  mismatch,     // the word was not `expected` at the start (FUTEX_WAIT's EAGAIN)
  timed_out,    // the deadline passed
  interrupted,  // a signal handler ran (interruptible waits only)
  never,        // internal: nothing but another OS thread can wake a parked caller (it then waits
                // in the kernel, after grove's would-block-forever report is logged)
};

// Waits while *word == expected, until woken, the deadline (monotonic ns; INT64_MAX: none), or —
// if `interruptible` — a signal handler. `reason` and `word` name the wait in reports and dumps.
FutexWait futex_wait(const std::uint32_t* word, std::uint32_t expected, std::int64_t deadline_ns,
                     const char* reason, bool interruptible = false) noexcept;
// Wakes up to n waiters of word (n < 0: all); returns how many it woke. `kernel_too`: also wake
// threads that may wait in the kernel without having counted themselves (the program's own
// futex system calls).
int futex_wake(const std::uint32_t* word, int n, bool kernel_too = false) noexcept;

}  // namespace grove::detail

// sample.hpp — what a hub's thread is doing right now, seen from another thread (the monitor's).
//
// A thread that runs is asked with a signal: grove's own real-time signal (kSampleSignal, installed
// with libc's __sigaction, so the interposer does not wrap it, with SA_RESTART and on the
// alternate stack) whose handler records the running greenlet and unwinds the interrupted stack
// (backtrace::of_signal), async-signal-safely. Symbolizing happens later, in the monitor.
//
// A thread blocked in the kernel is first looked at through /proc (its state and the system call
// it is in). It is signalled only if that call restarts transparently under SA_RESTART (a futex
// wait without a timeout — a contended lock —, wait4, a read or write that is not on a socket …):
// a sleep, a poll, a futex wait with a timeout or a socket call with one would return EINTR, and a
// monitor must not change what the program sees.
//
// Never signalled either: a thread that blocks the signal, or a process where the program has
// put its own handler on grove's signal since.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "backtrace.hpp"

namespace grove::detail {

class Hub;

// SIGRTMIN + 6: glibc keeps the first real-time signals for itself (SIGRTMIN is after them);
// this one is grove's.
int sample_signal() noexcept;

struct KernelState {
  char state = '?';     // /proc …/stat: R running, S sleeping, D disk wait, …
  long syscall = -1;    // the system call it is in (-1: none, or unknown)
  unsigned long args[6] = {};  // its arguments
};
KernelState kernel_state(pid_t tid) noexcept;
const char* syscall_name(long nr) noexcept;  // "futex", or nullptr
// Whether a thread in this state may be interrupted by the sampling signal without the program
// noticing: running in user space, or in a system call that restarts under SA_RESTART.
bool safe_to_interrupt(const KernelState& k) noexcept;

struct ThreadSample {
  bool taken = false;            // the handler ran on that thread
  std::uint64_t greenlet_id = 0;
  std::string greenlet_name;
  bool switching = false;        // caught in the middle of a switch: the stack is the previous greenlet's
  backtrace::Trace trace;
  std::string why_not;           // when not taken
};

// Installs the handler (once); false if it cannot be had, *why says why. Outside handlers.
bool sampling_ready(const char** why) noexcept;
// Interrupts `tid` (the thread of `hub`), waits up to timeout_ns for its handler, which writes
// notify_fd (an eventfd the caller polls) when done. Monitor thread only; one sample at a time.
ThreadSample sample_thread(const Hub* hub, pid_t tid, int notify_fd, std::int64_t timeout_ns);
// In the child of fork(): nothing in flight.
void sampling_after_fork() noexcept;

}  // namespace grove::detail

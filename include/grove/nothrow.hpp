// nothrow.hpp — grove's blocking primitives with C conventions, for code that must not throw:
// the LD_PRELOAD interposer (interpose/) and callbacks from C libraries.
//
// Each call returns 0 (or a count) on success and a negative errno otherwise; none throws and
// none changes errno. The interruptions of the C++ API map to:
//   -ECANCELED  the greenlet was killed (C++: GreenletExit)
//   -ETIMEDOUT  an enclosing grove::Timeout expired (C++: TimeoutError)
//   -EDEADLK    nothing could ever wake the caller (C++: BlockedForever). A hook then falls back
//               to the real blocking call, which is what libc would have done.
//   -EINTR      a signal handler ran while the caller was parked (libc: EINTR)
//   -ERESTART   the same, for handlers installed with SA_RESTART: restart the call if libc would
// Kill and Timeout are sticky: every further blocking call returns the same error until control
// is back in grove's C++ API, which throws. C frames are never unwound by an exception.
#pragma once

#include <poll.h>

#include <cstdint>

namespace grove::nothrow {

// Monotonic nanoseconds, the clock of every deadline here.
std::int64_t now_ns() noexcept;
std::int64_t deadline_after_ns(std::int64_t ns) noexcept;  // saturating; ns <= 0: now
inline constexpr std::int64_t kNoDeadline = INT64_MAX;

// Parks until fd may be ready for `events` (POLLIN or POLLOUT; retry the syscall after), the
// deadline (-EAGAIN), or an interruption. -EBADF if fd is closed meanwhile; -EBUSY if another
// greenlet of this thread already waits on fd in that direction.
int wait_fd(int fd, short events, std::int64_t deadline_ns) noexcept;
// Parks until any of the fds may have become ready (poll again after), the deadline (-EAGAIN), or
// an interruption. The caller has already found none of them ready.
int wait_any_fd(const pollfd* fds, nfds_t n, std::int64_t deadline_ns) noexcept;
// Parks until the deadline: 0 when reached, or an interruption.
int sleep_until(std::int64_t deadline_ns) noexcept;
// Called from a signal handler (async-signal-safe): a handler ran on this thread; parked calls
// get -EINTR, or -ERESTART if every handler since was installed with SA_RESTART.
void note_signal(bool sa_restart) noexcept;
// An interruption already pending for the running greenlet (-ECANCELED, -ETIMEDOUT), else 0.
int pending_interruption() noexcept;
// False where parking is impossible: inside the hub itself (callbacks posted to it).
bool can_park() noexcept;

// What the program believes about an fd (tracked by the interposer), process-wide.
struct FdInfo {
  bool known = false;          // grove saw it created, or has checked it
  bool is_socket = false;
  bool user_nonblock = false;  // the program's own O_NONBLOCK
  bool owned = false;          // created through grove: O_NONBLOCK may be kept on it
  bool passthrough = false;    // regular file, directory, terminal: left to block as libc does
  std::int64_t rcvtimeo_ns = 0;  // SO_RCVTIMEO (0: none)
  std::int64_t sndtimeo_ns = 0;  // SO_SNDTIMEO
};
FdInfo fd_info(int fd) noexcept;
void set_fd_info(int fd, const FdInfo& info) noexcept;
// Before fd is closed: wakes greenlets waiting on it with -EBADF, deregisters it from this
// thread's hub, forgets its info and gives the number a new generation.
void forget_fd(int fd) noexcept;

}  // namespace grove::nothrow

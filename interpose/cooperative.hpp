// cooperative.hpp — the one decision every hook makes, and the retry loop behind it.
//
// For a call on fd that might block:
//   1. hooks off (GROVE_DISABLE, or inside the hub itself)      -> the real call
//   2. fd unknown to the kernel, a regular file or a terminal    -> the real call
//   3. the program made it non-blocking (O_NONBLOCK, FIONBIO,
//      SOCK_NONBLOCK, accept4 flags, MSG_DONTWAIT)               -> the real call: EAGAIN as usual
//   4. a socket                                                  -> try without blocking (the socket
//      is O_NONBLOCK if grove created it, else MSG_DONTWAIT); on EAGAIN park until ready, retry
//   5. anything else pollable (pipe, eventfd, FIFO…)             -> wait until poll says ready, then
//      the real call; O_NONBLOCK is never flipped on such fds, which are often shared with the
//      parent process (a shell's pipe)
// The first look at an fd grove did not create costs an fstat and an F_GETFL, cached until close.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cerrno>

#ifndef ERESTART
#define ERESTART 85
#endif
#include <cstdint>

#include "grove/nothrow.hpp"
#include "real.hpp"

namespace grove::interpose {

inline bool hooks_active() noexcept { return !real::disabled && nothrow::can_park(); }

// What grove knows of fd, learning it on first sight.
inline nothrow::FdInfo classify(int fd) noexcept {
  nothrow::FdInfo info = nothrow::fd_info(fd);
  if (info.known || fd < 0) return info;
  struct stat st;
  if (::fstat(fd, &st) != 0) return info;  // not open: the real call reports EBADF
  info.known = true;
  if (S_ISSOCK(st.st_mode)) {
    info.is_socket = true;
    const int fl = real::fcntl(fd, F_GETFL, 0);
    info.user_nonblock = fl >= 0 && (fl & O_NONBLOCK);
  } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) {
    info.passthrough = true;  // never "not ready"
  } else if (S_ISCHR(st.st_mode)) {
    termios t;
    info.passthrough = real::ioctl(fd, TCGETS, &t) == 0;  // terminals keep their blocking reads
  }  // else a FIFO or an anonymous inode (eventfd, timerfd, signalfd…): wait with poll first
  nothrow::set_fd_info(fd, info);
  return info;
}

// Sets errno from a negative result of the nothrow layer and returns -1.
inline int fail(int neg_errno) noexcept {
  errno = -neg_errno;
  return -1;
}

// Blocks the thread for real until fd is ready (or timeout_ns passes): the fallback when nothing
// else could ever run (nothrow's -EDEADLK), i.e. exactly what libc would have done.
inline int block_for_real(int fd, short events, std::int64_t deadline) noexcept {
  pollfd p{fd, events, 0};
  int ms = -1;
  if (deadline != nothrow::kNoDeadline) {
    std::int64_t left = deadline - nothrow::now_ns();
    ms = left <= 0 ? 0 : static_cast<int>((left + 999'999) / 1'000'000);
  }
  return real::poll(&p, 1, ms);
}

// Parks until fd may be ready; 0 to retry, or -errno to return (-EAGAIN: the socket timeout).
// A signal handler ending the park follows signal(7): socket calls restart under SA_RESTART
// unless the socket has a timeout (SO_RCVTIMEO/SO_SNDTIMEO), otherwise they fail with EINTR.
inline int park_on_fd(int fd, short events, std::int64_t deadline, bool restartable = true) noexcept {
  int w = nothrow::wait_fd(fd, events, deadline);
  if (w == -ERESTART) return restartable && deadline == nothrow::kNoDeadline ? 0 : -EINTR;
  if (w == -EDEADLK) {
    int r = block_for_real(fd, events, deadline);
    return r > 0 ? 0 : r == 0 ? -EAGAIN : -errno;
  }
  return w;
}

// Runs attempt() — a non-blocking try with libc conventions — until it succeeds or fails with
// something other than EAGAIN, parking in between. errno is left as libc would leave it.
template <class Attempt>
auto retry_on_eagain(int fd, short events, std::int64_t timeout_ns, Attempt attempt) noexcept -> decltype(attempt()) {
  const int saved = errno;
  const std::int64_t deadline = timeout_ns > 0 ? nothrow::deadline_after_ns(timeout_ns) : nothrow::kNoDeadline;
  for (;;) {
    auto r = attempt();
    if (r >= 0) {
      errno = saved;
      return r;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return r;
    if (int w = park_on_fd(fd, events, deadline); w != 0) return fail(w);
  }
}

// For pollable fds that are not sockets: wait until poll(2) says ready, then make the real,
// blocking call (which then does not block, barring a second reader elsewhere).
template <class Call>
auto when_ready(int fd, short events, Call call) noexcept -> decltype(call()) {
  const int saved = errno;
  for (;;) {
    pollfd p{fd, events, 0};
    int r = real::poll(&p, 1, 0);
    if (r != 0) break;  // ready, or an error the call itself will report
    if (int w = park_on_fd(fd, events, nothrow::kNoDeadline); w != 0) return fail(w);
  }
  errno = saved;
  return call();
}

enum class Path { real, socket_try, socket_dontwait, poll_first };

// Which of the paths above a call on fd takes. `dontwait`: the caller passed MSG_DONTWAIT.
inline Path choose(int fd, bool dontwait = false) noexcept {
  if (!hooks_active() || dontwait) return Path::real;
  const nothrow::FdInfo info = classify(fd);
  if (!info.known || info.passthrough) return Path::real;
  if (info.is_socket) {
    if (info.user_nonblock) return Path::real;
    return info.owned ? Path::socket_try : Path::socket_dontwait;
  }
  const int fl = real::fcntl(fd, F_GETFL, 0);  // not ours to track: ask each time
  if (fl < 0 || (fl & O_NONBLOCK)) return Path::real;
  return Path::poll_first;
}

inline std::int64_t recv_timeout(int fd) noexcept { return nothrow::fd_info(fd).rcvtimeo_ns; }
inline std::int64_t send_timeout(int fd) noexcept { return nothrow::fd_info(fd).sndtimeo_ns; }

}  // namespace grove::interpose

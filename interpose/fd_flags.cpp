// fd_flags.cpp — close, close_range, closefrom, fclose, dup*, fcntl, ioctl(FIONBIO), setsockopt:
// keeping grove's record of each fd (lib/fd_record.hpp) the kernel's.
//
// The kernel's O_NONBLOCK is the program's: grove never sets it behind the program's back, so
// F_GETFL is libc's answer as is. These hooks only note what the program changed, after the real
// call succeeded, on every thread (a thread without a hub pays a few loads and stores). Closes
// are noted before the real call: greenlets waiting on the fd are woken with EBADF and the fd
// leaves the poller while the number still means the closing file. grove's own fds (the hub's
// epoll fd and eventfd, DNS sockets: lib/own_fd.hpp) are stepped over by the program's closes, and
// moved away before a dup2/dup3 onto one.
//
// Built without _FILE_OFFSET_BITS=64 on purpose: with it, the headers rename `fcntl` to `fcntl64`,
// and defining one would export only the other name — the bug that let libcurl, libpq, hiredis,
// socat and GnuTLS (all importing plain fcntl) bypass this hook (DESIGN §7).
#undef _FILE_OFFSET_BITS
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdarg>
#include <cstdint>

#include "hook.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif
#ifndef SO_RCVTIMEO_OLD
#define SO_RCVTIMEO_OLD 20
#define SO_SNDTIMEO_OLD 21
#endif

namespace {

// dup2/dup3 replace `to`: note its close first, but only when the call can succeed (a bad `from`
// leaves `to` open and its waiters waiting).
bool can_dup(int from) noexcept { return real::fcntl(from, F_GETFD, 0) >= 0; }

}  // namespace

extern "C" {

int close(int fd) {
  if (real::disabled) return real::close(fd);
  if (nothrow::is_grove_fd(fd)) return 0;  // grove's own (own_fd.hpp): the program never had it
  nothrow::fd_closing(fd);
  return real::close(fd);
}

int close_range(unsigned first, unsigned last, int flags) {
  if (real::disabled || (flags & CLOSE_RANGE_CLOEXEC) || first > last) return real::close_range(first, last, flags);
  nothrow::fd_range_closing(first, last);
  // Step over grove's own fds: close the stretches between them.
  int own[64];
  const int n = nothrow::grove_fds_between(first, last, own, 64);
  unsigned from = first;
  for (int i = 0; i < n; ++i) {
    const auto skip = static_cast<unsigned>(own[i]);
    if (skip > from && real::close_range(from, skip - 1, flags) != 0) return -1;
    from = skip + 1;
  }
  if (from > last || (n > 0 && static_cast<unsigned>(own[n - 1]) == UINT_MAX)) return 0;
  return real::close_range(from, last, flags);
}

void closefrom(int lowfd) {
  const unsigned first = static_cast<unsigned>(lowfd < 0 ? 0 : lowfd);
  // closefrom has no error to report: close_range, then one close per fd if the kernel lacks it.
  if (close_range(first, UINT_MAX, 0) == 0) return;
  for (long fd = first, max = ::sysconf(_SC_OPEN_MAX); fd < max; ++fd) close(static_cast<int>(fd));
}

// stdio closes its fd with a libc-internal close that no hook sees.
int fclose(FILE* f) {
  real::ensure_resolved();
  if (!real::disabled && f) {
    const int fd = ::fileno(f);
    if (fd >= 0) nothrow::fd_closing(fd);
  }
  return real::fclose(f);
}

int dup(int fd) {
  const int r = real::dup(fd);
  if (r >= 0 && !real::disabled) nothrow::fd_shared(fd, r);
  return r;
}

int dup2(int from, int to) {
  if (real::disabled || from == to) return real::dup2(from, to);
  if (can_dup(from)) {
    nothrow::make_room_for(to);
    nothrow::fd_closing(to);
  }
  const int r = real::dup2(from, to);
  if (r >= 0) nothrow::fd_shared(from, to);
  return r;
}

int dup3(int from, int to, int flags) {
  if (real::disabled || from == to) return real::dup3(from, to, flags);
  if (can_dup(from)) {
    nothrow::make_room_for(to);
    nothrow::fd_closing(to);
  }
  const int r = real::dup3(from, to, flags);
  if (r >= 0) nothrow::fd_shared(from, to);
  return r;
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const long arg = va_arg(ap, long);  // every fcntl argument fits a long (int or pointer)
  va_end(ap);
  const int r = real::fcntl(fd, cmd, arg);
  if (r < 0 || real::disabled) return r;
  switch (cmd) {
    case F_SETFL: nothrow::fd_set_nonblock(fd, arg & O_NONBLOCK); break;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: nothrow::fd_shared(fd, r); break;
    default: break;
  }
  return r;
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  const int r = real::ioctl(fd, request, arg);
  if (r == 0 && request == FIONBIO && arg && !real::disabled) nothrow::fd_set_nonblock(fd, *static_cast<int*>(arg) != 0);
  return r;
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  const int r = real::setsockopt(fd, level, name, value, len);
  if (r != 0 || real::disabled || level != SOL_SOCKET) return r;
  std::int64_t ns;
  if ((name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD) && len >= sizeof(timeval)) {
    const auto* tv = static_cast<const timeval*>(value);
    ns = std::int64_t{tv->tv_sec} * 1'000'000'000 + std::int64_t{tv->tv_usec} * 1000;
  } else if ((name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW) && len >= 2 * sizeof(std::int64_t)) {
    const auto* tv = static_cast<const std::int64_t*>(value);  // struct __kernel_sock_timeval
    ns = tv[0] * 1'000'000'000 + tv[1] * 1000;
  } else {
    return r;
  }
  nothrow::fd_set_timeout(fd, name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW, ns < 0 ? 0 : ns);
  return r;
}

}  // extern "C"

GROVE_ALIAS(close, __close)
GROVE_ALIAS(dup2, __dup2)
GROVE_ALIAS(fcntl, fcntl64)
GROVE_ALIAS(fcntl, __fcntl)
GROVE_ALIAS(fcntl, __libc_fcntl64)

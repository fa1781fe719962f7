// fd_flags.cpp — close, dup*, fcntl, ioctl(FIONBIO), setsockopt: keeping grove's view of each fd
// in step with the program's.
//
// Sockets grove created are O_NONBLOCK underneath; F_GETFL shows the program the flags it set
// itself, F_SETFL/FIONBIO change what it sees (and so whether its calls park or return EAGAIN)
// without ever taking O_NONBLOCK off the socket.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdarg>

#include "cooperative.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

namespace {

void copy_info(int from, int to) noexcept {
  nothrow::forget_fd(to);
  nothrow::set_fd_info(to, nothrow::fd_info(from));
}

bool owned_socket(int fd) noexcept {
  const nothrow::FdInfo info = nothrow::fd_info(fd);
  return info.known && info.is_socket && info.owned;
}

void set_user_nonblock(int fd, bool on) noexcept {
  nothrow::FdInfo info = nothrow::fd_info(fd);
  if (!info.known) return;
  info.user_nonblock = on;
  nothrow::set_fd_info(fd, info);
}

}  // namespace

extern "C" {

int close(int fd) {
  if (!real::disabled) nothrow::forget_fd(fd);  // wake waiters with EBADF before the number is reusable
  return real::close(fd);
}

int dup(int fd) {
  int r = real::dup(fd);
  if (r >= 0 && !real::disabled) copy_info(fd, r);
  return r;
}

int dup2(int from, int to) {
  if (real::disabled || from == to) return real::dup2(from, to);
  int r = real::dup2(from, to);
  if (r >= 0) copy_info(from, to);
  return r;
}

int dup3(int from, int to, int flags) {
  if (real::disabled) return real::dup3(from, to, flags);
  int r = real::dup3(from, to, flags);
  if (r >= 0) copy_info(from, to);
  return r;
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);  // every fcntl argument fits a long (int or pointer)
  va_end(ap);
  if (real::disabled) return real::fcntl(fd, cmd, arg);
  switch (cmd) {
    case F_GETFL: {
      int r = real::fcntl(fd, cmd, arg);
      if (r >= 0 && owned_socket(fd))
        r = nothrow::fd_info(fd).user_nonblock ? (r | O_NONBLOCK) : (r & ~O_NONBLOCK);
      return r;
    }
    case F_SETFL: {
      const bool owned = owned_socket(fd);
      int r = real::fcntl(fd, cmd, owned ? (arg | O_NONBLOCK) : arg);
      if (r == 0) set_user_nonblock(fd, arg & O_NONBLOCK);
      return r;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int r = real::fcntl(fd, cmd, arg);
      if (r >= 0) copy_info(fd, r);
      return r;
    }
    default:
      return real::fcntl(fd, cmd, arg);
  }
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (real::disabled || request != FIONBIO || !arg) return real::ioctl(fd, request, arg);
  const bool on = *static_cast<int*>(arg) != 0;
  if (owned_socket(fd)) {
    int keep = 1;  // the socket stays non-blocking underneath; only the program's view changes
    int r = real::ioctl(fd, FIONBIO, &keep);
    if (r == 0) set_user_nonblock(fd, on);
    return r;
  }
  int r = real::ioctl(fd, request, arg);
  if (r == 0) set_user_nonblock(fd, on);
  return r;
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  int r = real::setsockopt(fd, level, name, value, len);
  if (r != 0 || real::disabled || level != SOL_SOCKET || (name != SO_RCVTIMEO && name != SO_SNDTIMEO) ||
      len < sizeof(timeval))
    return r;
  const auto* tv = static_cast<const timeval*>(value);
  const std::int64_t ns = std::int64_t{tv->tv_sec} * 1'000'000'000 + std::int64_t{tv->tv_usec} * 1000;
  nothrow::FdInfo info = classify(fd);
  if (!info.known) return r;
  (name == SO_RCVTIMEO ? info.rcvtimeo_ns : info.sndtimeo_ns) = ns;
  nothrow::set_fd_info(fd, info);
  return r;
}

}  // extern "C"

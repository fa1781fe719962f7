// socket.cpp — socket, socketpair, accept, accept4, connect.
//
// Sockets created here are made O_NONBLOCK underneath, whatever the program asked for; the
// program's own choice is recorded and shown back by fcntl(F_GETFL) (fd_flags.cpp), and decides
// whether a call parks or returns EAGAIN.
#include <sys/socket.h>

#include "cooperative.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

namespace {

void track_new_socket(int fd, bool user_nonblock) noexcept {
  nothrow::forget_fd(fd);  // a number grove saw closed behind its back starts clean
  nothrow::FdInfo info;
  info.known = info.is_socket = info.owned = true;
  info.user_nonblock = user_nonblock;
  nothrow::set_fd_info(fd, info);
}

int accept_impl(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  const bool user_nonblock = flags & SOCK_NONBLOCK;
  const socklen_t len_in = len ? *len : 0;
  auto attempt = [&] {
    if (len) *len = len_in;
    return real::accept4(fd, addr, len, flags | SOCK_NONBLOCK);
  };
  int r;
  switch (choose(fd)) {
    case Path::real:
      if (real::disabled) return flags ? real::accept4(fd, addr, len, flags) : real::accept(fd, addr, len);
      r = attempt();
      break;
    case Path::socket_try:
      r = retry_on_eagain(fd, POLLIN, recv_timeout(fd), attempt);
      break;
    case Path::socket_dontwait:  // a listening socket grove did not create: its O_NONBLOCK is not ours
      r = when_ready(fd, POLLIN, attempt);
      break;
    default:  // not a socket: accept fails (ENOTSOCK) as in libc
      r = flags ? real::accept4(fd, addr, len, flags) : real::accept(fd, addr, len);
      break;
  }
  if (r >= 0) track_new_socket(r, user_nonblock);
  return r;
}

}  // namespace

extern "C" {

int socket(int domain, int type, int protocol) {
  if (real::disabled) return real::socket(domain, type, protocol);
  int fd = real::socket(domain, type | SOCK_NONBLOCK, protocol);
  if (fd >= 0) track_new_socket(fd, type & SOCK_NONBLOCK);
  return fd;
}

int socketpair(int domain, int type, int protocol, int sv[2]) {
  if (real::disabled) return real::socketpair(domain, type, protocol, sv);
  int r = real::socketpair(domain, type | SOCK_NONBLOCK, protocol, sv);
  if (r == 0) {
    track_new_socket(sv[0], type & SOCK_NONBLOCK);
    track_new_socket(sv[1], type & SOCK_NONBLOCK);
  }
  return r;
}

int accept(int fd, sockaddr* addr, socklen_t* len) { return accept_impl(fd, addr, len, 0); }

int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) { return accept_impl(fd, addr, len, flags); }

int connect(int fd, const sockaddr* addr, socklen_t len) {
  if (choose(fd) != Path::socket_try) return real::connect(fd, addr, len);
  const int saved = errno;
  int r = real::connect(fd, addr, len);
  if (r == 0 || (errno != EINPROGRESS && errno != EAGAIN)) return r;
  // In progress (AF_UNIX with a full backlog says EAGAIN instead): wait until writable.
  const std::int64_t timeout = send_timeout(fd);
  const std::int64_t deadline = timeout > 0 ? nothrow::deadline_after_ns(timeout) : nothrow::kNoDeadline;
  for (;;) {
    const bool unix_retry = errno == EAGAIN;
    if (int w = park_on_fd(fd, POLLOUT, deadline); w != 0) {
      // A blocking connect whose SO_SNDTIMEO expires reports EINPROGRESS, as here.
      return fail(w == -EAGAIN ? -EINPROGRESS : w);
    }
    if (unix_retry) {
      r = real::connect(fd, addr, len);
      if (r == 0 || errno != EAGAIN) return r == 0 ? (errno = saved, 0) : r;
      continue;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (real::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) return -1;
    if (err != 0) return fail(-err);
    sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) {
      errno = saved;
      return 0;
    }
    errno = EINPROGRESS;  // woken early: still connecting
  }
}

}  // extern "C"

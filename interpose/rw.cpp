// rw.cpp — read, write, readv, writev, recv*, send* and the _FORTIFY_SOURCE variants.
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cooperative.hpp"

using namespace grove::interpose;

extern "C" void __chk_fail() __attribute__((noreturn));

namespace {

// One helper for every call: `plain` is the call as the program made it, `dontwait` the same call
// made non-blocking with MSG_DONTWAIT (for sockets grove did not create).
// Socket-only calls (recv*, send*) on anything else go to libc, which fails them (ENOTSOCK).
template <class Plain, class DontWait>
auto route(int fd, short events, bool user_dontwait, Plain plain, DontWait dontwait, bool socket_only = true) noexcept {
  switch (choose(fd, user_dontwait)) {
    case Path::real:
      return plain();
    case Path::socket_try:
      return retry_on_eagain(fd, events, events == POLLIN ? recv_timeout(fd) : send_timeout(fd), plain);
    case Path::socket_dontwait:
      return retry_on_eagain(fd, events, events == POLLIN ? recv_timeout(fd) : send_timeout(fd), dontwait);
    case Path::poll_first:
      if (socket_only) return plain();
      break;
  }
  return when_ready(fd, events, plain);
}

}  // namespace

extern "C" {

ssize_t read(int fd, void* buf, size_t n) {
  return route(
      fd, POLLIN, false, [&] { return real::read(fd, buf, n); },
      [&] { return real::recvfrom(fd, buf, n, MSG_DONTWAIT, nullptr, nullptr); }, false);
}

ssize_t write(int fd, const void* buf, size_t n) {
  return route(
      fd, POLLOUT, false, [&] { return real::write(fd, buf, n); },
      [&] { return real::sendto(fd, buf, n, MSG_DONTWAIT, nullptr, 0); }, false);
}

ssize_t readv(int fd, const iovec* iov, int cnt) {
  return route(
      fd, POLLIN, false, [&] { return real::readv(fd, iov, cnt); },
      [&] {
        msghdr m{};
        m.msg_iov = const_cast<iovec*>(iov);
        m.msg_iovlen = static_cast<size_t>(cnt);
        return real::recvmsg(fd, &m, MSG_DONTWAIT);
      },
      false);
}

ssize_t writev(int fd, const iovec* iov, int cnt) {
  return route(
      fd, POLLOUT, false, [&] { return real::writev(fd, iov, cnt); },
      [&] {
        msghdr m{};
        m.msg_iov = const_cast<iovec*>(iov);
        m.msg_iovlen = static_cast<size_t>(cnt);
        return real::sendmsg(fd, &m, MSG_DONTWAIT);
      },
      false);
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  return route(
      fd, POLLIN, flags & MSG_DONTWAIT, [&] { return real::recv(fd, buf, n, flags); },
      [&] { return real::recv(fd, buf, n, flags | MSG_DONTWAIT); });
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* len) {
  const socklen_t len_in = len ? *len : 0;
  auto with = [&](int f) {
    if (len) *len = len_in;
    return real::recvfrom(fd, buf, n, f, addr, len);
  };
  return route(
      fd, POLLIN, flags & MSG_DONTWAIT, [&] { return with(flags); }, [&] { return with(flags | MSG_DONTWAIT); });
}

ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  return route(
      fd, POLLIN, flags & MSG_DONTWAIT, [&] { return real::recvmsg(fd, msg, flags); },
      [&] { return real::recvmsg(fd, msg, flags | MSG_DONTWAIT); });
}

int recvmmsg(int fd, mmsghdr* v, unsigned n, int flags, timespec* timeout) {
  if (timeout) return real::recvmmsg(fd, v, n, flags, timeout);  // its own timeout semantics
  return route(
      fd, POLLIN, flags & MSG_DONTWAIT, [&] { return real::recvmmsg(fd, v, n, flags, nullptr); },
      [&] { return real::recvmmsg(fd, v, n, flags | MSG_DONTWAIT, nullptr); });
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  return route(
      fd, POLLOUT, flags & MSG_DONTWAIT, [&] { return real::send(fd, buf, n, flags); },
      [&] { return real::send(fd, buf, n, flags | MSG_DONTWAIT); });
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr, socklen_t len) {
  return route(
      fd, POLLOUT, flags & MSG_DONTWAIT, [&] { return real::sendto(fd, buf, n, flags, addr, len); },
      [&] { return real::sendto(fd, buf, n, flags | MSG_DONTWAIT, addr, len); });
}

ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  return route(
      fd, POLLOUT, flags & MSG_DONTWAIT, [&] { return real::sendmsg(fd, msg, flags); },
      [&] { return real::sendmsg(fd, msg, flags | MSG_DONTWAIT); });
}

int sendmmsg(int fd, mmsghdr* v, unsigned n, int flags) {
  return route(
      fd, POLLOUT, flags & MSG_DONTWAIT, [&] { return real::sendmmsg(fd, v, n, flags); },
      [&] { return real::sendmmsg(fd, v, n, flags | MSG_DONTWAIT); });
}

// _FORTIFY_SOURCE builds call these instead; the checks are libc's, the waiting ours.
ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}

ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}

ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, sockaddr* addr, socklen_t* len) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, addr, len);
}

}  // extern "C"

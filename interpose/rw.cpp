// rw.cpp — read, write, readv, writev, recv*, send* and the _FORTIFY_SOURCE variants.
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hook.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

extern "C" void __chk_fail() __attribute__((noreturn));

extern "C" {

ssize_t read(int fd, void* buf, size_t n) {
  if (!active()) return real::read(fd, buf, n);
  return ret<ssize_t>(nothrow::read(fd, buf, n));
}

ssize_t write(int fd, const void* buf, size_t n) {
  if (!active()) return real::write(fd, buf, n);
  return ret<ssize_t>(nothrow::write(fd, buf, n));
}

ssize_t readv(int fd, const iovec* iov, int cnt) {
  if (!active()) return real::readv(fd, iov, cnt);
  return ret<ssize_t>(nothrow::readv(fd, iov, cnt));
}

ssize_t writev(int fd, const iovec* iov, int cnt) {
  if (!active()) return real::writev(fd, iov, cnt);
  return ret<ssize_t>(nothrow::writev(fd, iov, cnt));
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (!active()) return real::recv(fd, buf, n, flags);
  return ret<ssize_t>(nothrow::recvfrom(fd, buf, n, flags, nullptr, nullptr));
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* len) {
  if (!active()) return real::recvfrom(fd, buf, n, flags, addr, len);
  return ret<ssize_t>(nothrow::recvfrom(fd, buf, n, flags, addr, len));
}

ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  if (!active()) return real::recvmsg(fd, msg, flags);
  return ret<ssize_t>(nothrow::recvmsg(fd, msg, flags));
}

int recvmmsg(int fd, mmsghdr* v, unsigned n, int flags, timespec* timeout) {
  // With a timeout it has semantics of its own (checked only after each datagram): libc's.
  if (timeout || !active()) return real::recvmmsg(fd, v, n, flags, timeout);
  return ret<int>(nothrow::recvmmsg(fd, v, n, flags));
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if (!active()) return real::send(fd, buf, n, flags);
  return ret<ssize_t>(nothrow::sendto(fd, buf, n, flags, nullptr, 0));
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr, socklen_t len) {
  if (!active()) return real::sendto(fd, buf, n, flags, addr, len);
  return ret<ssize_t>(nothrow::sendto(fd, buf, n, flags, addr, len));
}

ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  if (!active()) return real::sendmsg(fd, msg, flags);
  return ret<ssize_t>(nothrow::sendmsg(fd, msg, flags));
}

int sendmmsg(int fd, mmsghdr* v, unsigned n, int flags) {
  if (!active()) return real::sendmmsg(fd, v, n, flags);
  return ret<int>(nothrow::sendmmsg(fd, v, n, flags));
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

GROVE_ALIAS(read, __read)
GROVE_ALIAS(write, __write)
GROVE_ALIAS(recv, __recv)
GROVE_ALIAS(send, __send)
GROVE_ALIAS(sendmmsg, __sendmmsg)

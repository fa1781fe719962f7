// socket.cpp — socket, socketpair, accept, accept4, connect.
//
// Sockets are created exactly as the program asks (grove adds no flag): what grove learns here is
// recorded for the calls that follow (lib/fd_record.hpp). Accept and connect wait cooperatively in
// a thread with a hub (lib/fd_transfer.cpp says how without touching the socket's flags).
#include <sys/socket.h>

#include "hook.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

extern "C" {

int socket(int domain, int type, int protocol) {
  const int fd = real::socket(domain, type, protocol);
  if (fd >= 0 && !real::disabled) nothrow::socket_created(fd, domain, type, protocol);
  return fd;
}

int socketpair(int domain, int type, int protocol, int sv[2]) {
  const int r = real::socketpair(domain, type, protocol, sv);
  if (r == 0 && !real::disabled) {
    nothrow::socket_created(sv[0], domain, type, protocol);
    nothrow::socket_created(sv[1], domain, type, protocol);
  }
  return r;
}

int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (active()) return ret<int>(nothrow::accept4(fd, addr, len, flags));
  const int r = real::accept4(fd, addr, len, flags);
  if (r >= 0 && !real::disabled) nothrow::fd_opened(r);
  return r;
}

int accept(int fd, sockaddr* addr, socklen_t* len) {
  if (active()) return ret<int>(nothrow::accept4(fd, addr, len, 0));
  const int r = real::accept(fd, addr, len);
  if (r >= 0 && !real::disabled) nothrow::fd_opened(r);
  return r;
}

int connect(int fd, const sockaddr* addr, socklen_t len) {
  if (!active()) return real::connect(fd, addr, len);
  return ret<int>(nothrow::connect(fd, addr, len));
}

}  // extern "C"

GROVE_ALIAS(socket, __socket)
GROVE_ALIAS(connect, __connect)

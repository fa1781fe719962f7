// io.cpp — the C++ API's cooperative fd calls: try the syscall, park on EAGAIN, retry.
//
// Trying first (libdill's fd.c does the same) makes the common case — data already there, buffer
// space free — cost exactly one system call; the poller is only involved when the call would
// block, and then registration happens once per fd (edge-triggered, see poller.hpp).
#include "grove/io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>
#include <string>
#include <system_error>

#include "grove/errors.hpp"
#include "hub.hpp"
#include "sys.hpp"

namespace grove {

namespace {

using detail::Hub;
using detail::Interest;
using detail::Wake;

[[noreturn]] void fail(long neg_errno, const char* call, int fd) {
  throw std::system_error(static_cast<int>(-neg_errno), std::generic_category(),
                          std::string("grove::") + call + "(fd " + std::to_string(fd) + ")");
}

[[noreturn]] void second_waiter(Hub& hub, int fd, Interest in, const char* call) {
  detail::GreenletCore* other = hub.fd_waiter(fd, in);
  const char* dir = in == Interest::read ? "read" : "write";
  throw UsageError(std::string("grove::") + call + ": greenlet '" + hub.current()->name + "' wants to " + dir +
                   " fd " + std::to_string(fd) + " while greenlet '" + (other ? other->name : "?") +
                   "' is already waiting to " + dir + " it; one reader and one writer per fd at a time");
}

// Waits for `in` on fd; true when the caller should retry its syscall, false on its own deadline.
bool wait(int fd, Interest in, std::int64_t deadline, const char* call) {
  Hub& hub = Hub::get();
  Wake w;
  int r = hub.wait_fd(fd, in, deadline, call, &w);
  if (r == -EBUSY) second_waiter(hub, fd, in, call);
  if (r < 0) fail(r, call, fd);
  if (w == Wake::fd_closed) fail(-EBADF, call, fd);
  if (w == Wake::deadline) return false;
  detail::raise_if_interrupted(w);
  return true;
}

// Runs op() until it does not fail with EAGAIN, parking in between. Returns op()'s result.
template <class Op>
long retry(int fd, Interest in, const char* call, Op op) {
  for (;;) {
    long r = op();
    if (r >= 0) return r;
    if (r == -EINTR) continue;
    if (r != -EAGAIN && r != -EWOULDBLOCK) fail(r, call, fd);
    wait(fd, in, detail::kNever, call);
  }
}

void ensure_nonblocking(int fd) {
  if (fd < 0) fail(-EBADF, "set_nonblocking", fd);
  detail::FdEntry& e = Hub::get().fds().get(fd);
  if (e.nonblock_set) return;
  long fl = sys::fcntl(fd, F_GETFL);
  if (fl < 0) fail(fl, "fcntl", fd);
  if (!(fl & O_NONBLOCK)) {
    long r = sys::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (r < 0) fail(r, "fcntl", fd);
  }
  e.nonblock_set = true;
}

sockaddr_storage parse_addr(const std::string& host, std::uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof *v6;
  } else {
    throw std::invalid_argument("grove: '" + host + "' is not a numeric IPv4 or IPv6 address");
  }
  return ss;
}

int new_socket(int family) {
  long fd = sys::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(static_cast<int>(-fd), std::generic_category(), "grove: socket()");
  Hub::get().fds().get(static_cast<int>(fd)).nonblock_set = true;
  return static_cast<int>(fd);
}

}  // namespace

void wait_readable(int fd) { wait(fd, Interest::read, detail::kNever, "wait_readable"); }
void wait_writable(int fd) { wait(fd, Interest::write, detail::kNever, "wait_writable"); }
bool wait_readable(int fd, Duration timeout) {
  return wait(fd, Interest::read, detail::deadline_after(timeout), "wait_readable");
}
bool wait_writable(int fd, Duration timeout) {
  return wait(fd, Interest::write, detail::deadline_after(timeout), "wait_writable");
}

std::size_t read(int fd, void* buf, std::size_t n) {
  ensure_nonblocking(fd);
  return static_cast<std::size_t>(retry(fd, Interest::read, "read", [&] { return sys::read(fd, buf, n); }));
}

std::size_t write(int fd, const void* buf, std::size_t n) {
  ensure_nonblocking(fd);
  return static_cast<std::size_t>(retry(fd, Interest::write, "write", [&] { return sys::write(fd, buf, n); }));
}

void write_all(int fd, const void* buf, std::size_t n) {
  auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    std::size_t w = write(fd, p, n);
    p += w;
    n -= w;
  }
}

std::size_t recv(int fd, void* buf, std::size_t n, int flags) {
  if (fd < 0) fail(-EBADF, "recv", fd);
  return static_cast<std::size_t>(retry(fd, Interest::read, "recv", [&] {
    return sys::recvfrom(fd, buf, n, flags | MSG_DONTWAIT, nullptr, nullptr);
  }));
}

std::size_t send(int fd, const void* buf, std::size_t n, int flags) {
  if (fd < 0) fail(-EBADF, "send", fd);
  return static_cast<std::size_t>(retry(fd, Interest::write, "send", [&] {
    return sys::sendto(fd, buf, n, flags | MSG_DONTWAIT | MSG_NOSIGNAL, nullptr, 0);
  }));
}

void send_all(int fd, const void* buf, std::size_t n) {
  auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    std::size_t w = send(fd, p, n);
    p += w;
    n -= w;
  }
}

int accept(int listen_fd, sockaddr* addr, socklen_t* addrlen) {
  ensure_nonblocking(listen_fd);
  long fd = retry(listen_fd, Interest::read, "accept", [&] {
    return sys::accept4(listen_fd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
  });
  Hub::get().fds().get(static_cast<int>(fd)).nonblock_set = true;
  return static_cast<int>(fd);
}

void connect(int fd, const sockaddr* addr, socklen_t addrlen) {
  ensure_nonblocking(fd);
  long r = sys::connect(fd, addr, addrlen);
  if (r == 0) return;
  if (r != -EINPROGRESS && r != -EINTR) fail(r, "connect", fd);
  // In progress: writable means finished, SO_ERROR says how.
  for (;;) {
    wait(fd, Interest::write, detail::kNever, "connect");
    int err = 0;
    socklen_t len = sizeof err;
    r = sys::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (r < 0) fail(r, "connect", fd);
    if (err == 0) {
      // Spurious wake-up before the handshake finished? Not connected yet means wait again.
      sockaddr_storage peer;
      socklen_t plen = sizeof peer;
      if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) return;
      if (errno != ENOTCONN) fail(-errno, "connect", fd);
      continue;
    }
    fail(-err, "connect", fd);
  }
}

void close(int fd) {
  if (Hub* hub = Hub::get_if())
    hub->forget_fd(fd);
  else
    detail::fd_closed(fd);
  long r = sys::close(fd);
  if (r < 0 && r != -EINTR) fail(r, "close", fd);
}

void set_nonblocking(int fd) { ensure_nonblocking(fd); }

int tcp_listen(const std::string& host, std::uint16_t port, int backlog) {
  socklen_t len;
  sockaddr_storage ss = parse_addr(host, port, &len);
  int fd = new_socket(ss.ss_family);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 || ::listen(fd, backlog) < 0) {
    int e = errno;
    grove::close(fd);
    throw std::system_error(e, std::generic_category(),
                            "grove::tcp_listen(" + host + ":" + std::to_string(port) + ")");
  }
  return fd;
}

int tcp_connect(const std::string& host, std::uint16_t port) {
  socklen_t len;
  sockaddr_storage ss = parse_addr(host, port, &len);
  int fd = new_socket(ss.ss_family);
  try {
    grove::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  } catch (...) {
    grove::close(fd);
    throw;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) fail(-errno, "getsockname", fd);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace grove

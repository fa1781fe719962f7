// io.cpp — the C++ API's cooperative fd calls (include/grove/io.hpp): the one place where an
// Outcome of the shared retry loop (fd_call.hpp) becomes a value or an exception.
//
// grove never changes an fd's flags: the calls here are made non-blocking per call (MSG_DONTWAIT,
// RWF_NOWAIT, or readiness first), so an fd used with grove behaves the same when handed to C
// code, stdio or a child process afterwards.
#include "grove/io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <string>
#include <system_error>

#include "assert.hpp"
#include "fd_ops.hpp"
#include "grove/errors.hpp"
#include "hub.hpp"
#include "sys.hpp"
#include "timeout_scope.hpp"

namespace grove {

namespace {

using detail::Interest;
using detail::kCppPolicy;
using detail::Outcome;
using detail::Result;

[[noreturn]] void fail(int err, const char* call, int fd) {
  throw std::system_error(err, std::generic_category(), std::string("grove::") + call + "(fd " + std::to_string(fd) + ")");
}

[[noreturn]] void busy(int fd, Interest in, const char* call) {
  detail::Hub& hub = detail::Hub::get();
  detail::GreenletCore* other = hub.fd_waiter(fd, in);
  const char* dir = in == Interest::read ? "read" : "write";
  const std::string who = "grove::" + std::string(call) + ": greenlet '" + hub.current()->name + "' wants to " + dir +
                          " fd " + std::to_string(fd);
  if (!other)
    throw UsageError(who + ", which a greenlet of another thread's hub waits on; an fd belongs to the hub that "
                           "waits on it until it is closed");
  throw UsageError(who + " while greenlet '" + other->name + "' is already waiting to " + dir +
                   " it; one reader and one writer per fd at a time");
}

// The one mapping from the shared loop's Outcome to the C++ API's value or exception.
long value(const Result& r, const char* call, int fd, Interest in) {
  switch (r.outcome) {
    case Outcome::done: return r.value;
    case Outcome::failed: fail(r.err, call, fd);
    case Outcome::closed: fail(EBADF, call, fd);
    case Outcome::killed: throw GreenletExit{};
    case Outcome::timeout: detail::throw_scope_timeout(detail::Hub::get().current());
    case Outcome::busy: busy(fd, in, call);
    case Outcome::would_block:  // no deadline and no signals in kCppPolicy
    case Outcome::interrupted: break;
  }
  GROVE_FATAL("grove::%s(fd %d): unexpected outcome %d", call, fd, static_cast<int>(r.outcome));
}

std::size_t size(const Result& r, const char* call, int fd, Interest in) {
  return static_cast<std::size_t>(value(r, call, fd, in));
}

bool wait(int fd, Interest in, std::int64_t deadline, const char* call) {
  if (fd < 0) fail(EBADF, call, fd);
  // Level first: data may have been there since an edge an earlier wait consumed.
  pollfd p{fd, static_cast<short>(in == Interest::read ? POLLIN : POLLOUT), 0};
  if (sys::poll(&p, 1, 0) > 0) {
    if (p.revents & POLLNVAL) fail(EBADF, call, fd);
    // Readable now: the read that follows must try first, whatever the last one found.
    if (in == Interest::read) detail::Hub::get().note_read(fd, false);
    return true;
  }
  const Result r = detail::fd_wait(fd, in, deadline, kCppPolicy, call);
  if (r.outcome == Outcome::would_block) return false;
  value(r, call, fd, in);
  return true;
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
  const long fd = sys::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(static_cast<int>(-fd), std::generic_category(), "grove: socket()");
  detail::fd_learn_socket(static_cast<int>(fd), detail::new_socket_facts(family, SOCK_STREAM, 0));
  return static_cast<int>(fd);
}

void set_option(int fd, int level, int name, int value, const char* what) {
  if (long r = sys::setsockopt(fd, level, name, &value, sizeof value); r < 0) fail(static_cast<int>(-r), what, fd);
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
  return size(detail::co_read(fd, buf, n, kCppPolicy), "read", fd, Interest::read);
}

std::size_t write(int fd, const void* buf, std::size_t n) {
  return size(detail::co_write(fd, buf, n, kCppPolicy), "write", fd, Interest::write);
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
  return size(detail::co_recvfrom(fd, buf, n, flags, nullptr, nullptr, kCppPolicy), "recv", fd, Interest::read);
}

std::size_t send(int fd, const void* buf, std::size_t n, int flags) {
  return size(detail::co_sendto(fd, buf, n, flags | MSG_NOSIGNAL, nullptr, 0, kCppPolicy), "send", fd,
              Interest::write);
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
  return static_cast<int>(
      value(detail::co_accept(listen_fd, addr, addrlen, SOCK_CLOEXEC, kCppPolicy), "accept", listen_fd, Interest::read));
}

void connect(int fd, const sockaddr* addr, socklen_t addrlen) {
  value(detail::co_connect(fd, addr, addrlen, kCppPolicy), "connect", fd, Interest::write);
}

void close(int fd) {
  detail::Hub::fd_closing(fd);
  long r = sys::close(fd);
  if (r < 0 && r != -EINTR) fail(static_cast<int>(-r), "close", fd);
}

void set_nonblocking(int fd) {
  int on = 1;
  if (long r = sys::ioctl(fd, FIONBIO, &on); r < 0) fail(static_cast<int>(-r), "set_nonblocking", fd);
  detail::fd_set_nonblock(fd, true);
}

int tcp_listen(const std::string& host, std::uint16_t port, int backlog) {
  return tcp_listen(host, port, ListenOptions{.backlog = backlog});
}

int tcp_listen(const std::string& host, std::uint16_t port, ListenOptions options) {
  socklen_t len;
  sockaddr_storage ss = parse_addr(host, port, &len);
  int fd = new_socket(ss.ss_family);
  try {
    set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "tcp_listen");
    if (options.reuse_port) set_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "tcp_listen");
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 || ::listen(fd, options.backlog) < 0)
      throw std::system_error(errno, std::generic_category(),
                              "grove::tcp_listen(" + host + ":" + std::to_string(port) + ")");
  } catch (...) {
    grove::close(fd);
    throw;
  }
  return fd;
}

int tcp_connect(const std::string& host, std::uint16_t port) {
  socklen_t len;
  sockaddr_storage ss = parse_addr(host, port, &len);
  int fd = new_socket(ss.ss_family);
  try {
    grove::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
    set_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "tcp_connect");
  } catch (...) {
    grove::close(fd);
    throw;
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) fail(errno, "getsockname", fd);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace grove

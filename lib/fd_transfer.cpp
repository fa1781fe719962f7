// fd_transfer.cpp — the cooperative calls that have no per-call non-blocking form.
//
// accept(2) has no MSG_DONTWAIT: it waits until poll(2) says a connection is pending, then
// accepts (Form::poll_first). If another process takes that connection first, the accept blocks
// for real, as it would natively; setting O_NONBLOCK on a listening socket would be seen by every
// process sharing it (pre-forked servers), which is worse.
//
// connect(2), and sendfile(2)/splice(2) on a socket, take their blocking mode from the file's
// O_NONBLOCK alone. For those the flag is set for the call and cleared before it returns
// (FIONBIO: one system call each way, no read-modify-write of the other flags), so stdio, exec'd
// children and every other call see the program's own flags. A blocking call that another thread
// of the process starts on the same socket in that window of a few microseconds would see
// EAGAIN; calls already blocked are not affected. Pipes need no such thing: SPLICE_F_NONBLOCK is
// their per-call form.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "fd_ops.hpp"
#include "grove/detail/core.hpp"
#include "hub.hpp"
#include "sys.hpp"

namespace grove::detail {

namespace {

template <class Call>
long with_nonblock(int fd, Call call) noexcept {
  int on = 1;
  sys::ioctl(fd, FIONBIO, &on);
  const long r = call();
  int off = 0;
  sys::ioctl(fd, FIONBIO, &off);
  return r;
}

std::int64_t deadline_for(const FdFacts& f, Interest in, const Policy& p) noexcept {
  const std::int64_t t = p.honour_timeouts ? (in == Interest::read ? f.rcvtimeo_ns : f.sndtimeo_ns) : 0;
  return t > 0 ? deadline_after(std::chrono::nanoseconds(t)) : kNever;
}

// A kill or Timeout while waiting to send: C code must find the connection broken (fd_call.hpp).
Result cancelled(int fd, const FdFacts& f, const Policy& p, Result w) noexcept {
  if (w.outcome == Outcome::killed || w.outcome == Outcome::timeout) abandon(fd, f, p);
  return w;
}

}  // namespace

Result co_accept(int fd, sockaddr* addr, socklen_t* len, int flags, const Policy& p) {
  FdFacts f = fd_facts(fd);
  const socklen_t len_in = len ? *len : 0;
  auto call = [&](Try) -> long {
    if (len) *len = len_in;
    return sys::accept4(fd, addr, len, flags);
  };
  // Not a socket: libc fails it at once (ENOTSOCK). A family other than IP or Unix: grove cannot
  // tell that poll will ever report it (AF_VSOCK without a transport), so it blocks as in libc.
  Result r = f.kind == FdKind::socket && f.inet_or_unix
                 ? fd_call(fd, f, Interest::read, p, Form::poll_first, "accept", call)
                 : Result::of(call(Try::plain));
  if (r.ok()) {  // an accepted socket inherits the listener's type, family, protocol and timeouts
    FdFacts a = f;
    a.nonblock = flags & SOCK_NONBLOCK;
    fd_learn_socket(static_cast<int>(r.value), a);
  }
  return r;
}

Result co_connect(int fd, const sockaddr* addr, socklen_t len, const Policy& p) {
  FdFacts f = fd_facts(fd);
  if (f.kind != FdKind::socket || !f.inet_or_unix || !waitable(f, p)) return Result::of(sys::connect(fd, addr, len));
  long r = with_nonblock(fd, [&] { return sys::connect(fd, addr, len); });
  if (r == 0) return Result::done(0);
  if (r != -EINPROGRESS && r != -EAGAIN) return Result::failed(static_cast<int>(-r));
  const std::int64_t deadline = deadline_for(f, Interest::write, p);
  for (;;) {
    const bool unix_backlog = r == -EAGAIN;  // AF_UNIX, listener's backlog full: try again when writable
    Result w = fd_wait(fd, Interest::write, deadline, p, "connect");
    if (!w.ok()) {
      // A blocking connect whose SO_SNDTIMEO expires reports EINPROGRESS (the handshake goes on).
      if (w.outcome == Outcome::would_block) return Result::failed(EINPROGRESS);
      return w;
    }
    if (unix_backlog) {
      r = with_nonblock(fd, [&] { return sys::connect(fd, addr, len); });
      if (r == 0) return Result::done(0);
      if (r == -EAGAIN) continue;
      return Result::failed(static_cast<int>(-r));
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (long e = sys::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen); e < 0) return Result::of(e);
    if (err != 0) return Result::failed(err);
    sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    const long e = sys::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen);
    if (e == 0) return Result::done(0);
    if (e != -ENOTCONN) return Result::of(e);
    // Woken before the handshake finished: wait again.
  }
}

Result co_sendfile(int out, int in, off_t* offset, std::size_t count, const Policy& p) {
  FdFacts f = fd_facts(out);
  if (!waitable(f, p) || count == 0) return Result::of(sys::sendfile(out, in, offset, count));
  // A pipe takes SPLICE_F_NONBLOCK (sendfile to a pipe is a splice); a socket gets O_NONBLOCK for
  // the call. Either way a blocking sendfile sends everything, or until the input ends.
  const bool to_pipe = f.kind == FdKind::pollable;
  const std::int64_t deadline = deadline_for(f, Interest::write, p);
  std::size_t done = 0;
  for (;;) {
    const std::size_t left = count - done;
    long r = to_pipe ? sys::splice(in, reinterpret_cast<long*>(offset), out, nullptr, left, SPLICE_F_NONBLOCK)
                     : with_nonblock(out, [&] { return sys::sendfile(out, in, reinterpret_cast<long*>(offset), left); });
    if (r == -EINVAL && to_pipe && done == 0)  // an input splice cannot read from: sendfile as is
      return Result::of(sys::sendfile(out, in, reinterpret_cast<long*>(offset), count));
    if (r > 0) {
      done += static_cast<std::size_t>(r);
      if (done >= count) return Result::done(static_cast<long>(done));
      continue;
    }
    if (r == 0) return Result::done(static_cast<long>(done));  // end of the input
    if (r != -EAGAIN) return done ? Result::done(static_cast<long>(done)) : Result::failed(static_cast<int>(-r));
    Result w = fd_wait(out, Interest::write, deadline, p, "sendfile");
    if (!w.ok()) return done ? Result::done(static_cast<long>(done)) : cancelled(out, f, p, w);
  }
}

Result co_splice(int in, loff_t* off_in, int out, loff_t* off_out, std::size_t len, unsigned flags,
                 const Policy& p) {
  auto plain = [&] { return Result::of(sys::splice(in, reinterpret_cast<long*>(off_in), out, reinterpret_cast<long*>(off_out), len, flags)); };
  if ((flags & SPLICE_F_NONBLOCK) || len == 0) return plain();
  FdFacts fi = fd_facts(in), fo = fd_facts(out);
  if (!waitable(fi, p) && !waitable(fo, p)) return plain();
  // One side is a pipe (the kernel insists): SPLICE_F_NONBLOCK covers it. A socket side gets
  // O_NONBLOCK for the call. A file side never waits.
  const int sock = fi.kind == FdKind::socket && waitable(fi, p) ? in : fo.kind == FdKind::socket && waitable(fo, p) ? out : -1;
  auto attempt = [&] {
    return sys::splice(in, reinterpret_cast<long*>(off_in), out, reinterpret_cast<long*>(off_out), len,
                       flags | SPLICE_F_NONBLOCK);
  };
  for (;;) {
    const long r = sock >= 0 ? with_nonblock(sock, attempt) : attempt();
    if (r != -EAGAIN) return Result::of(r);  // like a blocking splice: back after the first transfer
    pollfd sides[2];
    std::size_t n = 0;
    if (waitable(fi, p)) sides[n++] = {in, POLLIN, 0};
    if (waitable(fo, p)) sides[n++] = {out, POLLOUT, 0};
    Hub& hub = Hub::get();
    const Wake w = hub.wait_fds(sides, n, kNever, "splice", p.interruptible);
    if (w == Wake::fd_ready || w == Wake::deadline) continue;
    if (w == Wake::fd_unpollable) return plain();
    if (w == Wake::interrupted_restart) continue;
    const Outcome o = w == Wake::interrupted ? Outcome::interrupted
                      : w == Wake::killed    ? Outcome::killed
                      : w == Wake::scope_timeout ? Outcome::timeout
                                                 : Outcome::closed;
    if (sock >= 0) return cancelled(sock, sock == in ? fi : fo, p, Result::because(o));
    return Result::because(o);
  }
}

}  // namespace grove::detail

#include "fd_call.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "assert.hpp"
#include "grove/time.hpp"
#include "hub.hpp"
#include "sys.hpp"

namespace grove::detail {

namespace {

Result from_wake(Wake w) noexcept {
  switch (w) {
    case Wake::deadline: return Result::because(Outcome::would_block);
    case Wake::fd_closed: return Result::because(Outcome::closed);
    case Wake::interrupted:
    case Wake::interrupted_restart: return Result::because(Outcome::interrupted);
    case Wake::killed: return Result::because(Outcome::killed);
    case Wake::scope_timeout: return Result::because(Outcome::timeout);
    case Wake::fd_busy: return Result::because(Outcome::busy);
    default: break;
  }
  // blocked_forever cannot happen: a greenlet waiting on an fd keeps the hub polling.
  GROVE_FATAL("an fd wait ended with '%s'", to_string(w));
}

unsigned wait_flags(const Policy& p) noexcept {
  return (p.exclusive ? kWaitExclusive : 0u) | (p.interruptible ? kWaitInterruptible : 0u);
}

}  // namespace

bool abandon(int fd, const FdFacts& f, const Policy& p) noexcept {
  if (!p.shutdown_on_cancel || f.kind != FdKind::socket || !f.stream) return false;
  int listening = 0;
  socklen_t len = sizeof listening;
  if (sys::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) return false;
  return sys::shutdown(fd, SHUT_RDWR) == 0;
}

bool waitable(const FdFacts& f, const Policy& p) noexcept {
  if (f.kind != FdKind::socket && f.kind != FdKind::pollable) return false;
  return !(p.honour_nonblock && f.nonblock);
}

Result fd_call(int fd, FdFacts& f, Interest in, const Policy& p, Form form, const char* reason, Attempt attempt,
               std::size_t want) {
  if (!waitable(f, p) || (form == Form::socket_call && f.kind != FdKind::socket)) return Result::of(attempt(Try::plain));
  const std::int64_t timeout = p.honour_timeouts ? (in == Interest::read ? f.rcvtimeo_ns : f.sndtimeo_ns) : 0;
  const std::int64_t deadline = timeout > 0 ? deadline_after(std::chrono::nanoseconds(timeout)) : kNever;
  Try how = form == Form::poll_first                              ? Try::after_poll
            : f.kind == FdKind::socket                            ? Try::dontwait
            : form == Form::read_write && f.rwf_nowait            ? Try::nowait
                                                                  : Try::after_poll;
  Hub& hub = Hub::get();
  const bool hinted = p.wait_first && want > 0 && how == Try::dontwait && f.tcp && in == Interest::read;
  bool wait_first = hinted && hub.read_drained(fd);
  for (;;) {
    long r;
    if (wait_first) {
      wait_first = false;
      r = -EAGAIN;
    } else if (how == Try::after_poll) {
      pollfd pf{fd, static_cast<short>(in == Interest::read ? POLLIN : POLLOUT), 0};
      // Ready, or in a state (error, hang-up, not open) that the call itself reports.
      if (sys::poll(&pf, 1, 0) != 0) return Result::of(attempt(Try::after_poll));
      r = -EAGAIN;
    } else {
      r = attempt(how);
      if (r == -EOPNOTSUPP && how == Try::nowait) {  // a FIFO, or a kernel without RWF_NOWAIT for it
        fd_set_no_rwf_nowait(fd);
        f.rwf_nowait = false;
        how = Try::after_poll;
        continue;
      }
      if (r == -ENOTSOCK && how == Try::dontwait) {
        // The number was closed and reused behind grove's back (a close it could not see): learn
        // what it is now and start over (it is not a socket this time, so this happens once).
        f = fd_relearn(fd);
        return fd_call(fd, f, in, p, form, reason, attempt, want);
      }
    }
    if (r >= 0) {
      if (hinted) hub.note_read(fd, r > 0 && static_cast<std::size_t>(r) < want);
      return Result::done(r);
    }
    if (r != -EAGAIN && r != -EWOULDBLOCK) return Result::failed(static_cast<int>(-r));
    const Wake w = hub.wait_fd(fd, in, deadline, reason, wait_flags(p));
    switch (w) {
      case Wake::fd_ready: continue;
      case Wake::interrupted_restart:
        // signal(7): socket calls restart under SA_RESTART, unless the socket has a timeout.
        if (deadline == kNever) continue;
        return Result::because(Outcome::interrupted);
      case Wake::killed:
      case Wake::scope_timeout:
        abandon(fd, f, p);
        return from_wake(w);
      case Wake::fd_busy:
        if (p.exclusive) return from_wake(w);
        [[fallthrough]];  // another thread's hub waits on it: block for real, as libc would
      case Wake::fd_unpollable: return Result::of(attempt(Try::plain));
      default: return from_wake(w);
    }
  }
}

Result fd_wait(int fd, Interest in, std::int64_t deadline_ns, const Policy& p, const char* reason) {
  for (;;) {
    const Wake w = Hub::get().wait_fd(fd, in, deadline_ns, reason, wait_flags(p));
    switch (w) {
      case Wake::fd_ready:
      case Wake::fd_unpollable: return Result::done(0);  // cannot be watched: always "ready"
      case Wake::interrupted_restart:
        if (deadline_ns == kNever) continue;
        return Result::because(Outcome::interrupted);
      default: return from_wake(w);
    }
  }
}

}  // namespace grove::detail

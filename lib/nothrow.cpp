// nothrow.cpp — the C-convention face of the cooperative calls (include/grove/nothrow.hpp): the
// one place where an Outcome becomes an errno.
#include "grove/nothrow.hpp"

#include <cerrno>
#include <csignal>
#include <new>
#include <system_error>

#include "fd_call.hpp"
#include "fd_ops.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "log.hpp"
#include "own_fd.hpp"

namespace grove::nothrow {

namespace {

using detail::kLibcPolicy;
using detail::Outcome;
using detail::Result;
using detail::Wake;

long to_c(const Result& r) noexcept {
  switch (r.outcome) {
    case Outcome::done: return r.value;
    case Outcome::failed: return -r.err;
    case Outcome::would_block: return -EAGAIN;
    case Outcome::closed: return -EBADF;
    case Outcome::interrupted: return -EINTR;
    case Outcome::killed: return -ECANCELED;
    case Outcome::timeout: return -ETIMEDOUT;
    case Outcome::busy: return -EBUSY;
  }
  return -EIO;
}

int errno_of_current_exception() noexcept {
  try {
    throw;
  } catch (const std::system_error& e) {
    return e.code().value() ? e.code().value() : ENOMEM;
  } catch (...) {
    return ENOMEM;
  }
}

// Runs a call of the C++ core, which may throw only for lack of resources.
template <class F>
long guarded(F f) noexcept {
  try {
    return to_c(f());
  } catch (...) {
    return -errno_of_current_exception();
  }
}

}  // namespace

std::int64_t now_ns() noexcept { return detail::now_ns(); }

std::int64_t deadline_after_ns(std::int64_t ns) noexcept {
  return detail::deadline_after(std::chrono::nanoseconds(ns));
}

bool can_park() noexcept {
  detail::Hub* hub = detail::tl_ctx.hub;
  if (!hub) return false;
  detail::GreenletCore* self = hub->current();
  if (self->is_hub) return false;
  // Inside a signal handler that interrupted this greenlet? Then this frame is below its trampoline's.
  return !(detail::tl_ctx.handler_frame && detail::tl_ctx.handler_greenlet == self &&
           __builtin_frame_address(0) < detail::tl_ctx.handler_frame);
}

void log_warning(const char* message) noexcept { GROVE_LOG(warn, "%s", message); }

int start_hub() noexcept {
  try {
    detail::Hub::get();
    return 0;
  } catch (...) {
    return -errno_of_current_exception();
  }
}

long read(int fd, void* buf, std::size_t n) noexcept { return guarded([&] { return detail::co_read(fd, buf, n, kLibcPolicy); }); }
long readv(int fd, const iovec* iov, int cnt) noexcept {
  return guarded([&] { return detail::co_readv(fd, iov, cnt, kLibcPolicy); });
}
long recvfrom(int fd, void* buf, std::size_t n, int flags, sockaddr* from, socklen_t* fromlen) noexcept {
  return guarded([&] { return detail::co_recvfrom(fd, buf, n, flags, from, fromlen, kLibcPolicy); });
}
long recvmsg(int fd, msghdr* msg, int flags) noexcept {
  return guarded([&] { return detail::co_recvmsg(fd, msg, flags, kLibcPolicy); });
}
long recvmmsg(int fd, mmsghdr* v, unsigned n, int flags) noexcept {
  return guarded([&] { return detail::co_recvmmsg(fd, v, n, flags, kLibcPolicy); });
}
long write(int fd, const void* buf, std::size_t n) noexcept {
  return guarded([&] { return detail::co_write(fd, buf, n, kLibcPolicy); });
}
long writev(int fd, const iovec* iov, int cnt) noexcept {
  return guarded([&] { return detail::co_writev(fd, iov, cnt, kLibcPolicy); });
}
long sendto(int fd, const void* buf, std::size_t n, int flags, const sockaddr* to, socklen_t tolen) noexcept {
  return guarded([&] { return detail::co_sendto(fd, buf, n, flags, to, tolen, kLibcPolicy); });
}
long sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return guarded([&] { return detail::co_sendmsg(fd, msg, flags, kLibcPolicy); });
}
long sendmmsg(int fd, mmsghdr* v, unsigned n, int flags) noexcept {
  return guarded([&] { return detail::co_sendmmsg(fd, v, n, flags, kLibcPolicy); });
}
long sendfile(int out, int in, off_t* offset, std::size_t count) noexcept {
  return guarded([&] { return detail::co_sendfile(out, in, offset, count, kLibcPolicy); });
}
long splice(int in, loff_t* off_in, int out, loff_t* off_out, std::size_t len, unsigned flags) noexcept {
  return guarded([&] { return detail::co_splice(in, off_in, out, off_out, len, flags, kLibcPolicy); });
}
long accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  return guarded([&] { return detail::co_accept(fd, addr, len, flags, kLibcPolicy); });
}
long connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  return guarded([&] { return detail::co_connect(fd, addr, len, kLibcPolicy); });
}

int wait_any_fd(const pollfd* fds, nfds_t n, std::int64_t deadline_ns) noexcept {
  try {
    const Wake w = detail::Hub::get().wait_fds(fds, n, deadline_ns, "poll", true);
    switch (w) {
      case Wake::fd_ready:
      case Wake::fd_closed: return 0;  // a closed fd is for the caller's poll to report (POLLNVAL)
      case Wake::fd_unpollable: return 1;
      case Wake::deadline: return -EAGAIN;
      case Wake::killed: return -ECANCELED;
      case Wake::scope_timeout: return -ETIMEDOUT;
      default: return -EINTR;  // poll, select and epoll_wait are never restarted
    }
  } catch (...) {
    return -errno_of_current_exception();
  }
}

bool abandon_fd(int fd) noexcept { return detail::abandon(fd, detail::fd_facts(fd), kLibcPolicy); }

int sleep_until(std::int64_t deadline_ns) noexcept {
  try {
    const Wake w = detail::park("sleep", deadline_ns, -1, true);
    switch (w) {
      case Wake::deadline: return 0;
      case Wake::killed: return -ECANCELED;
      case Wake::scope_timeout: return -ETIMEDOUT;
      default: return -EINTR;  // sleeps are never restarted, SA_RESTART or not
    }
  } catch (...) {
    return -errno_of_current_exception();
  }
}

void fd_closing(int fd) noexcept { detail::Hub::fd_closing(fd); }

void fd_opened(int fd) noexcept { detail::fd_forget_description(fd); }

void fd_range_closing(unsigned first, unsigned last) noexcept {
  struct Range {
    unsigned first, last;
  } range{first, last};
  detail::for_each_fd_record(
      [](int fd, detail::FdRecord& r, void* arg) {
        const auto* rg = static_cast<const Range*>(arg);
        const auto u = static_cast<unsigned>(fd);
        if (u < rg->first || u > rg->last) return;
        if (r.desc.load(std::memory_order_relaxed) != 0 || r.owner.load(std::memory_order_relaxed) != nullptr)
          detail::Hub::fd_closing(fd);
      },
      &range);
}

void fd_shared(int from, int to) noexcept { detail::fd_share(from, to); }

void fd_set_nonblock(int fd, bool on) noexcept { detail::fd_set_nonblock(fd, on); }

void fd_set_timeout(int fd, bool receive, std::int64_t ns) noexcept {
  detail::fd_set_timeout(fd, receive ? detail::Interest::read : detail::Interest::write, ns);
}

void socket_created(int fd, int domain, int type, int protocol) noexcept {
  // A thread without a hub only drops what a close grove could not see may have left; a thread
  // that will wait on it records what it already knows (the kernel is asked otherwise).
  if (!detail::tl_ctx.hub) {
    detail::fd_forget_description(fd);
    return;
  }
  detail::fd_learn_socket(fd, detail::new_socket_facts(domain, type, protocol));
}

bool is_grove_fd(int fd) noexcept { return detail::is_own_fd(fd); }
void make_room_for(int fd) noexcept { detail::move_own_fd_away(fd); }
int grove_fds_between(unsigned first, unsigned last, int* out, int max) noexcept {
  return detail::own_fds_between(first, last, out, max);
}

SignalFrame signal_begin(bool sa_restart, void* frame) noexcept {
  detail::ThreadContext& c = detail::tl_ctx;
  const SignalFrame saved{c.handler_frame, c.handler_greenlet};
  if (!sa_restart) c.no_restart = 1;
  c.signals = c.signals + 1;
  if (detail::Hub* hub = c.hub) {
    c.handler_greenlet = hub->current();
    c.handler_frame = frame;
    hub->wake_from_signal();  // a hub asleep in epoll_wait must look at the signal
  }
  return saved;
}

void signal_end(SignalFrame saved) noexcept {
  detail::tl_ctx.handler_frame = saved.frame;
  detail::tl_ctx.handler_greenlet = saved.greenlet;
}

}  // namespace grove::nothrow

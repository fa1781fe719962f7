// nothrow.cpp — the C-convention face of the hub (include/grove/nothrow.hpp).
#include "grove/nothrow.hpp"

#include <cerrno>
#include <csignal>

#include "fd_table.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "timeout_scope.hpp"

namespace grove::nothrow {

namespace {

using detail::Wake;

thread_local volatile sig_atomic_t tl_signals __attribute__((tls_model("initial-exec"))) = 0;
thread_local volatile sig_atomic_t tl_no_restart __attribute__((tls_model("initial-exec"))) = 0;

int to_errno(Wake w) noexcept {
  switch (w) {
    case Wake::interrupted: return -EINTR;
    case Wake::interrupted_restart: return -ERESTART;
    case Wake::killed: return -ECANCELED;
    case Wake::scope_timeout: return -ETIMEDOUT;
    case Wake::blocked_forever: return -EDEADLK;
    case Wake::fd_closed: return -EBADF;
    case Wake::deadline: return -EAGAIN;
    default: return 0;
  }
}

}  // namespace

void note_signal(bool sa_restart) noexcept {
  if (!sa_restart) tl_no_restart = 1;
  tl_signals = tl_signals + 1;
}

std::int64_t now_ns() noexcept { return detail::now_ns(); }

std::int64_t deadline_after_ns(std::int64_t ns) noexcept {
  return detail::deadline_after(std::chrono::nanoseconds(ns));
}

bool can_park() noexcept {
  detail::Hub* hub = detail::Hub::get_if();
  return !hub || !hub->current()->is_hub;
}

int pending_interruption() noexcept {
  detail::Hub* hub = detail::Hub::get_if();
  if (!hub) return 0;
  const detail::GreenletCore* self = hub->current();
  if (self->kill_pending) return -ECANCELED;
  if (self->timeouts && detail::now_ns() >= detail::scope_deadline(self)) return -ETIMEDOUT;
  return 0;
}

int wait_fd(int fd, short events, std::int64_t deadline_ns) noexcept {
  try {
    detail::Hub& hub = detail::Hub::get();
    Wake w;
    const auto in = (events & POLLOUT) ? detail::Interest::write : detail::Interest::read;
    if (int r = hub.wait_fd(fd, in, deadline_ns, in == detail::Interest::read ? "read (libc)" : "write (libc)", &w,
                            true);
        r < 0)
      return r;
    return to_errno(w);
  } catch (...) {
    return -ENOMEM;  // creating the hub failed
  }
}

int wait_any_fd(const pollfd* fds, nfds_t n, std::int64_t deadline_ns) noexcept {
  try {
    detail::Hub& hub = detail::Hub::get();
    Wake w;
    if (int r = hub.wait_fds(fds, n, deadline_ns, "poll (libc)", &w, true); r < 0) return r;
    return w == Wake::fd_closed ? 0 : to_errno(w);  // a closed fd is for the caller's poll to report
  } catch (...) {
    return -ENOMEM;
  }
}

int sleep_until(std::int64_t deadline_ns) noexcept {
  try {
    Wake w = detail::park("sleep (libc)", deadline_ns, -1, true);
    return w == Wake::deadline ? 0 : (to_errno(w) ? to_errno(w) : -EINTR);
  } catch (...) {
    return -ENOMEM;
  }
}

FdInfo fd_info(int fd) noexcept {
  FdInfo info;
  detail::FdState* s = detail::fd_state(fd);
  if (!s) return info;
  const std::uint32_t f = s->flags.load(std::memory_order_acquire);
  info.known = f & detail::FdState::known;
  info.is_socket = f & detail::FdState::socket;
  info.user_nonblock = f & detail::FdState::user_nonblock;
  info.owned = f & detail::FdState::owned;
  info.passthrough = f & detail::FdState::passthrough;
  info.rcvtimeo_ns = s->rcvtimeo_ns.load(std::memory_order_relaxed);
  info.sndtimeo_ns = s->sndtimeo_ns.load(std::memory_order_relaxed);
  return info;
}

void set_fd_info(int fd, const FdInfo& info) noexcept {
  detail::FdState* s = detail::fd_state(fd);
  if (!s) return;
  std::uint32_t f = 0;
  if (info.known) f |= detail::FdState::known;
  if (info.is_socket) f |= detail::FdState::socket;
  if (info.user_nonblock) f |= detail::FdState::user_nonblock;
  if (info.owned) f |= detail::FdState::owned;
  if (info.passthrough) f |= detail::FdState::passthrough;
  s->rcvtimeo_ns.store(info.rcvtimeo_ns, std::memory_order_relaxed);
  s->sndtimeo_ns.store(info.sndtimeo_ns, std::memory_order_relaxed);
  s->flags.store(f, std::memory_order_release);
}

void forget_fd(int fd) noexcept {
  if (detail::Hub* hub = detail::Hub::get_if())
    hub->forget_fd(fd);
  else
    detail::fd_closed(fd);
}

}  // namespace grove::nothrow

namespace grove::detail {

bool take_signals(bool* restart_all) noexcept {
  if (nothrow::tl_signals == 0) return false;
  nothrow::tl_signals = 0;
  *restart_all = nothrow::tl_no_restart == 0;
  nothrow::tl_no_restart = 0;
  return true;
}

}  // namespace grove::detail

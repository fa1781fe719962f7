// poll.cpp — poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2 (+ fortify variants).
//
// Each asks the kernel with a zero timeout first — exactly the answer libc would give, POLLNVAL
// and POLLHUP included — and only if nothing is ready parks until one of the fds changes, the
// timeout, or an interruption, then asks again. A zero timeout never parks. The variants with a
// signal mask go to libc untouched: the mask must be swapped atomically with the wait.
#include <sys/epoll.h>
#include <sys/select.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "hook.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

extern "C" void __chk_fail() __attribute__((noreturn));

namespace {

std::int64_t deadline_from_ms(int ms) noexcept {
  return ms < 0 ? nothrow::kNoDeadline : nothrow::deadline_after_ns(std::int64_t{ms} * 1'000'000);
}

std::int64_t deadline_from_ts(const timespec* ts) noexcept {
  if (!ts) return nothrow::kNoDeadline;
  return nothrow::deadline_after_ns(std::int64_t{ts->tv_sec} * 1'000'000'000 + ts->tv_nsec);
}

int ms_left(std::int64_t deadline) noexcept {
  if (deadline == nothrow::kNoDeadline) return -1;
  std::int64_t left = deadline - nothrow::now_ns();
  return left <= 0 ? 0 : static_cast<int>((left + 999'999) / 1'000'000);
}

// A kill or Timeout while C code waits in poll: its connections are shut down, and if there were
// any the caller's own poll reports them (hang-up), so the library takes its connection-lost path.
bool abandon_all(const pollfd* fds, nfds_t n) noexcept {
  bool any = false;
  for (nfds_t i = 0; i < n; ++i)
    if (fds[i].fd >= 0) any |= nothrow::abandon_fd(fds[i].fd);
  return any;
}

// The same for the fds in the program's epoll set (listed in /proc/self/fdinfo/EPFD as "tfd: N").
bool abandon_epoll_set(int epfd) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", epfd);
  FILE* f = std::fopen(path, "re");
  if (!f) return false;
  bool any = false;
  char line[256];
  int fd;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "tfd: %d", &fd) == 1) any |= nothrow::abandon_fd(fd);
  std::fclose(f);
  return any;
}

// The shared loop: `check()` polls with a zero timeout (libc result conventions); between checks,
// park on the pollfds. Returns check()'s first non-zero result, 0 at the deadline, or -1/errno.
template <class Check, class BlockForReal, class Abandon>
int wait_loop(const pollfd* fds, nfds_t n, std::int64_t deadline, Check check, BlockForReal block, Abandon abandon) {
  const int saved = errno;
  for (;;) {
    int r = check();
    if (r != 0) {
      if (r > 0) errno = saved;
      return r;
    }
    int w = nothrow::wait_any_fd(fds, n, deadline);
    if (w == 0) continue;
    if (w == -EAGAIN) {
      errno = saved;
      return 0;
    }
    if (w == 1) return block(ms_left(deadline));  // an fd grove cannot watch: wait in the kernel
    if ((w == -ECANCELED || w == -ETIMEDOUT) && abandon()) {
      if (const int r = check(); r > 0) return r;
    }
    return ret<int>(w);  // -EINTR (poll, select and epoll_wait never restart), -ECANCELED, -ETIMEDOUT
  }
}

int poll_impl(pollfd* fds, nfds_t n, std::int64_t deadline) {
  return wait_loop(
      fds, n, deadline, [&] { return real::poll(fds, n, 0); }, [&](int ms) { return real::poll(fds, n, ms); },
      [&] { return abandon_all(fds, n); });
}

int select_impl(int nfds, fd_set* r, fd_set* w, fd_set* e, std::int64_t deadline) {
  if (nfds < 0 || nfds > FD_SETSIZE) return ret<int>(-EINVAL);
  std::vector<pollfd> pfds;
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (r && FD_ISSET(fd, r)) ev |= POLLIN;
    if (w && FD_ISSET(fd, w)) ev |= POLLOUT;
    if (e && FD_ISSET(fd, e)) ev |= POLLPRI;
    if (ev) pfds.push_back({fd, ev, 0});
  }
  fd_set in_r, in_w, in_e;
  if (r) in_r = *r;
  if (w) in_w = *w;
  if (e) in_e = *e;
  auto restore = [&] {
    if (r) *r = in_r;
    if (w) *w = in_w;
    if (e) *e = in_e;
  };
  auto check = [&] {
    restore();
    timeval zero{0, 0};
    return real::select(nfds, r, w, e, &zero);
  };
  int res = wait_loop(pfds.data(), pfds.size(), deadline, check, [&](int ms) {
    restore();
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    return real::select(nfds, r, w, e, ms < 0 ? nullptr : &tv);
  }, [&] { return abandon_all(pfds.data(), pfds.size()); });
  if (res == 0) {  // timed out: select clears the sets
    if (r) FD_ZERO(r);
    if (w) FD_ZERO(w);
    if (e) FD_ZERO(e);
  }
  return res;
}

int epoll_impl(int epfd, epoll_event* ev, int max, std::int64_t deadline) {
  pollfd self{epfd, POLLIN, 0};  // an epoll fd is readable while events are pending
  return wait_loop(
      &self, 1, deadline, [&] { return real::epoll_wait(epfd, ev, max, 0); },
      [&](int ms) { return real::epoll_wait(epfd, ev, max, ms); }, [&] { return abandon_epoll_set(epfd); });
}

}  // namespace

extern "C" {

int poll(pollfd* fds, nfds_t n, int timeout) {
  if (timeout == 0 || !active()) return real::poll(fds, n, timeout);
  return poll_impl(fds, n, deadline_from_ms(timeout));
}

int ppoll(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask) {
  if (mask || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0) || !active()) return real::ppoll(fds, n, ts, mask);
  if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000)) return ret<int>(-EINVAL);
  return poll_impl(fds, n, deadline_from_ts(ts));
}

int __poll_chk(pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n) __chk_fail();
  return poll(fds, n, timeout);
}

int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n) __chk_fail();
  return ppoll(fds, n, ts, mask);
}

int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* tv) {
  if ((tv && tv->tv_sec == 0 && tv->tv_usec == 0) || !active()) return real::select(nfds, r, w, e, tv);
  if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1'000'000)) return ret<int>(-EINVAL);
  const std::int64_t deadline =
      tv ? nothrow::deadline_after_ns(std::int64_t{tv->tv_sec} * 1'000'000'000 + std::int64_t{tv->tv_usec} * 1000)
         : nothrow::kNoDeadline;
  int res = select_impl(nfds, r, w, e, deadline);
  if (tv) {  // Linux reports the time not slept
    std::int64_t left = std::max<std::int64_t>(0, deadline - nothrow::now_ns());
    tv->tv_sec = left / 1'000'000'000;
    tv->tv_usec = (left % 1'000'000'000) / 1000;
  }
  return res;
}

int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const timespec* ts, const sigset_t* mask) {
  if (mask || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0) || !active())
    return real::pselect(nfds, r, w, e, ts, mask);
  if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000)) return ret<int>(-EINVAL);
  return select_impl(nfds, r, w, e, deadline_from_ts(ts));
}

int epoll_wait(int epfd, epoll_event* ev, int max, int timeout) {
  if (timeout == 0 || !active()) return real::epoll_wait(epfd, ev, max, timeout);
  return epoll_impl(epfd, ev, max, deadline_from_ms(timeout));
}

int epoll_pwait(int epfd, epoll_event* ev, int max, int timeout, const sigset_t* mask) {
  if (mask || timeout == 0 || !active()) return real::epoll_pwait(epfd, ev, max, timeout, mask);
  return epoll_impl(epfd, ev, max, deadline_from_ms(timeout));
}

int epoll_pwait2(int epfd, epoll_event* ev, int max, const timespec* ts, const sigset_t* mask) {
  if (mask || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0) || !active())
    return real::epoll_pwait2(epfd, ev, max, ts, mask);
  if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000)) return ret<int>(-EINVAL);
  return epoll_impl(epfd, ev, max, deadline_from_ts(ts));
}

}  // extern "C"

GROVE_ALIAS(poll, __poll)
GROVE_ALIAS(select, __select)

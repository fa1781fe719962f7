// poller.hpp — the contract between the hub and the operating system's readiness API.
//
// One Poller per hub (per thread). Its backend (poller_epoll.cpp, the only user of <sys/epoll.h>)
// must provide:
//
//  * add(fd, token): start watching fd for readability and writability, edge-triggered. An fd is
//    added once, on its first wait, and stays registered until remove(); waits after the first cost
//    no system call. Readiness that already holds at add() time is reported by the next wait().
//    Fails with -EPERM for files the kernel cannot poll (regular files): callers treat those as
//    always ready.
//  * remove(fd): stop watching. Must be called before the fd is closed: epoll watches the open file
//    description, so a registration survives close() if the description is shared (dup, fork)
//    and would keep reporting events for a number that now means something else.
//  * wait(timeout_ns): block until at least one event, the timeout (-1: none, 0: just look) or
//    notify(). Reports each event as (token, readable, writable); errors and hang-ups count as both,
//    so that every waiter retries its syscall and sees the error itself. Sub-millisecond timeouts
//    are honoured (epoll_pwait2).
//  * notify(): thread-safe and async-signal-safe; makes a concurrent or the next wait() return.
//
// Tokens carry the fd table's generation for the fd, so an event for an fd number that was closed
// and reused is recognised as stale by the hub and dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace grove::detail {

struct PollEvent {
  std::uint64_t token;
  bool readable;
  bool writable;
  // Something after which a short read is not the end of what is queued: EPOLLPRI (TCP urgent
  // data: a read stops short at its mark), EPOLLRDHUP, EPOLLHUP or EPOLLERR (an end of file or an
  // error waits behind the data, and no edge follows it).
  bool final_or_urgent;
};

class Poller {
 public:
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  int add(int fd, std::uint64_t token) noexcept;  // 0 or -errno
  void remove(int fd) noexcept;
  // Calls on_event for each readiness event; returns how many there were (0 on timeout/notify).
  int wait(std::int64_t timeout_ns, const std::function<void(const PollEvent&)>& on_event);
  void notify() noexcept;
  // In a forked child: the epoll instance is shared with the parent, so drop this process's
  // references and start a new, empty one. Registrations must be redone by the caller.
  void renew();

 private:
  void open();
  void close_fds() noexcept;
  // grove's own fds (own_fd.hpp): kept high, and moved if the program dup2()s onto one.
  std::atomic<int> epfd_{-1};
  std::atomic<int> wakefd_{-1};
  bool have_pwait2_ = true;
};

}  // namespace grove::detail

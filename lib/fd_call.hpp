// fd_call.hpp — the one cooperative retry loop: try the system call without blocking, park on
// EAGAIN until the fd is ready, try again.
//
// Both surfaces stand on it: the C++ API (lib/io.cpp, which throws) and the C conventions of
// nothrow.hpp that the interposer uses (lib/nothrow.cpp, which returns -errno). They differ only
// in the Policy they pass and in how they map the one Result; the loop, the per-kind decision and
// the waiting exist once, here and in fd_wait.cpp.
//
// How a call is made non-blocking without touching the fd's flags (DESIGN §3: O_NONBLOCK on an open
// file description is the program's, and stdio, exec'd children and unhooked calls must see it
// unchanged):
//   socket                 MSG_DONTWAIT on the call                      (Try::dontwait)
//   pipe, eventfd, …       preadv2/pwritev2 with RWF_NOWAIT (read/write) (Try::nowait)
//   FIFO, other pollables  poll(2) with a zero timeout, then the call    (Try::after_poll)
//   file, terminal         the call itself: it never waits in grove     (Try::plain)
// "Try the call first, wait only on EAGAIN": when data is there or the buffer has room, a call
// costs the one system call it would cost natively.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fd_record.hpp"
#include "function_ref.hpp"

namespace grove::detail {

// What happened, once. The C++ API maps it to a value or an exception, the C layer to errno.
enum class Outcome : std::uint8_t {
  done,         // value >= 0
  failed,       // the system call failed: err
  would_block,  // the socket's SO_RCVTIMEO/SO_SNDTIMEO (or the caller's deadline) passed: EAGAIN
  closed,       // the fd was closed while the greenlet waited on it: EBADF
  interrupted,  // a signal handler ran while it waited and the call is not restarted: EINTR
  killed,       // the greenlet was killed: GreenletExit / ECANCELED
  timeout,      // an enclosing grove::Timeout expired: TimeoutError / ETIMEDOUT
  busy,         // another greenlet already waits on the fd in that direction (exclusive policy)
};

struct Result {
  long value = 0;
  Outcome outcome = Outcome::done;
  int err = 0;

  bool ok() const noexcept { return outcome == Outcome::done; }
  static Result done(long v) noexcept { return {v, Outcome::done, 0}; }
  static Result failed(int e) noexcept { return {-1, Outcome::failed, e}; }
  static Result of(long r) noexcept { return r >= 0 ? done(r) : failed(static_cast<int>(-r)); }  // sys:: convention
  static Result because(Outcome o) noexcept { return {-1, o, 0}; }
};

// How one surface wants calls to behave.
struct Policy {
  bool honour_nonblock;     // the program's O_NONBLOCK means EAGAIN at once, as in libc
  bool honour_timeouts;     // SO_RCVTIMEO / SO_SNDTIMEO end a wait with EAGAIN
  bool interruptible;       // a signal handler ends a wait (EINTR, or a restart under SA_RESTART)
  bool exclusive;           // a second waiter in one direction is an error (Outcome::busy)
  bool shutdown_on_cancel;  // a kill or Timeout shuts a socket down: C code sees a broken connection
                            // instead of an exchange left half done (DESIGN §3, "interrupting C code")
  bool full_count;          // a blocking write to a stream socket or pipe sends everything, as the kernel's does
  bool wait_first;          // after a short TCP read the next one parks before trying (see fd_call below)
};
// grove's C++ API: every call waits (it is the point of calling it), one reader and one writer
// per fd, interruptions are exceptions and the caller decides what becomes of the fd.
inline constexpr Policy kCppPolicy{false, false, false, true, false, false, true};
// libc's semantics, for unmodified C code (the interposer).
// No waiting first: C code often polls before it reads — with a zero timeout, or through an
// epoll set of its own, which grove does not see — and a read after "readable" must try at once.
inline constexpr Policy kLibcPolicy{true, true, true, false, true, true, false};

enum class Try : std::uint8_t {
  plain,       // the call as the program made it: it does not wait in grove (or must block for real)
  dontwait,    // a socket call with MSG_DONTWAIT added
  nowait,      // a read or write made as preadv2/pwritev2(RWF_NOWAIT)
  after_poll,  // the call as made, right after poll(2) said the fd is ready; a write must not ask
               // for more than PIPE_BUF bytes so that it cannot block
};

enum class Form : std::uint8_t {
  socket_call,  // recv*, send*, …: sockets only (on anything else libc fails them, and so do we)
  read_write,   // read, write, readv, writev: any fd
  poll_first,   // accept: wait for readiness, then the plain call
};

using Attempt = FunctionRef<long(Try)>;

// True if a call on an fd with these facts may wait in grove under policy p, i.e. is a blocking
// call made non-blocking and waited for (not a pass-through to the plain call).
bool waitable(const FdFacts& f, const Policy& p) noexcept;

// Runs attempt() — one system call, sys:: conventions (result or -errno) — until it does not fail
// with EAGAIN, parking on `in` in between. `f` is fd_facts(fd), taken by the caller (and updated
// here if the kernel says they were stale). `reason` shows in reports of what the greenlet waits for.
//
// `want` (reads that consume what they get: the bytes asked for; 0 otherwise) turns on waiting
// first on TCP sockets: a read that came back with fewer bytes than asked emptied the receive queue
// (unless it stopped at urgent data, or an end of file or error waits behind it — the poller
// reports those, and then a socket never waits first again), so the next one parks
// at once instead of spending a system call on EAGAIN (Seastar's do_read_some). An edge that
// arrived meanwhile is waiting in the poller or the record, so the wait returns as soon as the
// hub looks.
Result fd_call(int fd, FdFacts& f, Interest in, const Policy& p, Form form, const char* reason, Attempt attempt,
               std::size_t want = 0);

// A kill or Timeout ended a wait on fd for C code (Policy::shutdown_on_cancel): a connected
// stream socket is shut down, so that the library sees a broken connection and no later call can
// receive the abandoned exchange's data. Listening sockets, datagram sockets and pipes are left
// alone (nothing is half done on them, and a listener is often shared). True if it shut fd down.
bool abandon(int fd, const FdFacts& f, const Policy& p) noexcept;

// Parks until fd may be ready for `in` (no system call is attempted): done(0), or would_block at
// the deadline, or an interruption.
Result fd_wait(int fd, Interest in, std::int64_t deadline_ns, const Policy& p, const char* reason);

}  // namespace grove::detail

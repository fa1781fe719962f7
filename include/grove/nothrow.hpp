// nothrow.hpp — grove's blocking calls with C conventions, for code that must not throw: the
// LD_PRELOAD interposer (interpose/) and callbacks from C libraries.
//
// The system calls here behave as libc's do — the program's O_NONBLOCK means EAGAIN, SO_RCVTIMEO
// and SO_SNDTIMEO end a wait with EAGAIN, a signal handler ends one with EINTR or restarts it under
// SA_RESTART, a blocking write to a stream socket or pipe sends everything — except that waiting
// parks only the calling greenlet. Each returns the call's result or a negative errno, and never
// changes errno. The C++ API's interruptions map to:
//   -ECANCELED  the greenlet was killed (C++: GreenletExit)
//   -ETIMEDOUT  an enclosing grove::Timeout expired (C++: TimeoutError)
// and the socket waited on is shut down first, so the C library sees a broken connection rather
// than an exchange left half done. Both are sticky: every further blocking call returns the same
// until control is back in grove's C++ API, which throws. C frames are never unwound.
//
// They are only for threads that have a hub: where can_park() is false, call libc.
#pragma once

#include <poll.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cstddef>
#include <cstdint>

struct iovec;

namespace grove::nothrow {

// Monotonic nanoseconds, the clock of every deadline here.
std::int64_t now_ns() noexcept;
std::int64_t deadline_after_ns(std::int64_t ns) noexcept;  // saturating; ns <= 0: now
inline constexpr std::int64_t kNoDeadline = INT64_MAX;

// True where a blocking call may park: this thread has a hub (it made a grove call — a thread
// that never did pays nothing and keeps libc's calls), the running greenlet is not the hub
// itself, and no signal handler is running on it.
bool can_park() noexcept;
// Gives the calling thread its hub now (0, or -errno such as -EMFILE), so that its blocking calls
// park from here on even before it spawns a greenlet. The interposer does it for the main thread
// under GROVE_MAIN_HUB=1.
int start_hub() noexcept;

// Writes `message` to grove's log at warning level (shown with GROVE_LOG=warn or lower).
void log_warning(const char* message) noexcept;

// --- the cooperative system calls -----------------------------------------------------------------
long read(int fd, void* buf, std::size_t n) noexcept;
long readv(int fd, const iovec* iov, int cnt) noexcept;
long recvfrom(int fd, void* buf, std::size_t n, int flags, sockaddr* from, socklen_t* fromlen) noexcept;
long recvmsg(int fd, msghdr* msg, int flags) noexcept;
long recvmmsg(int fd, mmsghdr* v, unsigned n, int flags) noexcept;  // no timeout argument: libc's own semantics
long write(int fd, const void* buf, std::size_t n) noexcept;
long writev(int fd, const iovec* iov, int cnt) noexcept;
long sendto(int fd, const void* buf, std::size_t n, int flags, const sockaddr* to, socklen_t tolen) noexcept;
long sendmsg(int fd, const msghdr* msg, int flags) noexcept;
long sendmmsg(int fd, mmsghdr* v, unsigned n, int flags) noexcept;
long sendfile(int out, int in, off_t* offset, std::size_t count) noexcept;
long splice(int in, loff_t* off_in, int out, loff_t* off_out, std::size_t len, unsigned flags) noexcept;
long accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept;
long connect(int fd, const sockaddr* addr, socklen_t len) noexcept;

// Parks until any of the fds may have become ready (poll again after: 0), the deadline (-EAGAIN),
// or an interruption (-EINTR, -ECANCELED, -ETIMEDOUT). 1: one of them cannot be watched; poll for
// real. The caller has already found none of them ready.
// On -ECANCELED or -ETIMEDOUT the caller abandons the connections it waited on (abandon_fd) and,
// if there were any, polls once more: C code then finds them broken through its own error path
// (libpq reports the connection lost, libcurl a receive error), not a poll that "failed".
int wait_any_fd(const pollfd* fds, nfds_t n, std::int64_t deadline_ns) noexcept;
// Shuts fd down if it is a connected stream socket (not a listener): true if it did.
bool abandon_fd(int fd) noexcept;
// Parks until the deadline: 0 when reached, or an interruption (-EINTR: sleeps never restart).
int sleep_until(std::int64_t deadline_ns) noexcept;

// --- what the program does to its fds (cheap; any thread, with or without a hub) -----------------
// The interposer reports these so that grove's record of each fd stays the kernel's.
void fd_closing(int fd) noexcept;            // close, dup2/dup3 onto it, fclose…: before the real call
void fd_shared(int from, int to) noexcept;   // dup, dup2, dup3, F_DUPFD: `to` shares from's description
void fd_set_nonblock(int fd, bool on) noexcept;               // F_SETFL, FIONBIO, after they succeeded
void fd_set_timeout(int fd, bool receive, std::int64_t ns) noexcept;  // SO_RCVTIMEO / SO_SNDTIMEO
// A socket was created (socket, socketpair): domain, type and protocol as passed, SOCK_NONBLOCK included.
void socket_created(int fd, int domain, int type, int protocol) noexcept;
// An fd was opened by a call that says nothing of it (accept outside a greenlet, …).
void fd_opened(int fd) noexcept;
// close_range(2)/closefrom(3): every fd grove knows of in [first, last] is about to be closed.
void fd_range_closing(unsigned first, unsigned last) noexcept;

// --- child processes (lib/process.cpp, lib/popen.cpp) ---------------------------------------------
// wait4(2), and so waitpid, wait and wait3: the child's pid, 0 (WNOHANG), or -errno.
pid_t wait4(pid_t pid, int* status, int options, rusage* ru) noexcept;
int waitid(idtype_t type, id_t id, siginfo_t* info, int options) noexcept;
// The program called ptrace(2): from now on waits also report ptrace stops (lib/process.cpp).
void ptrace_used() noexcept;
// system(3): returns what libc's returns; *err is the errno it would set (0: none).
int system(const char* command, int* err) noexcept;
// popen(3) whose stream's reads and writes park the greenlet; nullptr and *err on failure.
FILE* popen(const char* command, const char* mode, int* err) noexcept;
// pclose(3) of a stream from popen above: the child's status, or -errno; -ENOENT: not one of them.
int pclose(FILE* f) noexcept;

// --- grove's own fds (the hub's epoll fd and eventfd, the DNS channel's): out of the program's way
// A close of one by the program is skipped (it did not know of it); a dup2/dup3 onto one first
// moves grove's copy elsewhere (make_room_for).
bool is_grove_fd(int fd) noexcept;
void make_room_for(int fd) noexcept;
// grove's fds within [first, last], ascending (at most max): what close_range must step over.
int grove_fds_between(unsigned first, unsigned last, int* out, int max) noexcept;

// --- seeing inside (GROVE_MONITOR; lib/monitor.cpp) -------------------------------------------------
// A hook is about to make a real blocking call on a thread with a hub — every greenlet of that
// hub waits until it returns (green-threads mode: a lock grove cannot see, a regular file).
// `call` names it ("pthread_mutex_lock"; a string literal), `object` is what it waits on, or
// null. A hub held longer than GROVE_MONITOR is then reported as blocked in that call, by the
// greenlet that made it, without the thread being signalled. Cheap (a few stores); no-ops on a
// thread without a hub. Calls do not nest: end each before beginning the next.
void real_call_begin(const char* call, const void* object) noexcept;
void real_call_end() noexcept;

// --- signals (the interposer's handler trampoline; async-signal-safe) ----------------------------
// A handler starts running on this thread: parked calls will see EINTR, or a restart if every
// handler since was installed with SA_RESTART; hooks called from inside it go to libc. `frame` is
// the trampoline's frame address. Returns what signal_end must restore.
struct SignalFrame {
  void* frame;
  void* greenlet;
};
SignalFrame signal_begin(bool sa_restart, void* frame) noexcept;
void signal_end(SignalFrame saved) noexcept;

}  // namespace grove::nothrow

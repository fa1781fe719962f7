// fd_record.hpp — what grove knows of each file descriptor: one record per fd number.
//
// Two levels, as the kernel has them:
//
//   FdRecord     one per fd number, process-wide. Its generation changes whenever the number is
//                closed, so a wake-up or an epoll event meant for an earlier file of the same
//                number never reaches the next one (the generation is part of the poller token).
//                It also holds the wait state — poller registration, readiness seen while nobody
//                waited, the greenlets waiting to read, to write, or in poll()-like waits — which
//                belongs to one hub at a time, `owner`, and is touched on that hub's thread only.
//   Description  one per open file description, shared by every fd that dup() made of it, as the
//                kernel shares it: the kind of file, the program's O_NONBLOCK, SO_RCVTIMEO and
//                SO_SNDTIMEO. Setting O_NONBLOCK through one fd changes what all of them see.
//
// Facts are stored once. The kernel's O_NONBLOCK *is* the program's (grove never leaves the flag
// set behind the program's back, DESIGN §3); the description caches it so that deciding whether a
// call may park costs no system call. It learns it where the program sets it (fcntl, ioctl
// FIONBIO, SOCK_NONBLOCK, accept4 flags — the interposer reports those) or, for an fd grove
// first meets already open, from the kernel on first sight (fstat, F_GETFL, getsockopt).
//
// Memory: both tables grow in pages as higher numbers appear (no cap but the kernel's nr_open)
// and are never freed, so a racing reader never touches freed memory; a freed description's slot
// is reused. Entries never move: a parked waiter may hold a pointer to its record.
#pragma once

#include <atomic>
#include <cstdint>

#include "waiter.hpp"

namespace grove::detail {

class Hub;

enum class Interest : std::uint8_t { read, write };

enum class FdKind : std::uint8_t {
  unknown,      // not open, or grove has not looked yet
  socket,
  pollable,     // pipe, FIFO, eventfd, character device that is not a terminal…: poll(2) tells
  passthrough,  // regular file, directory, block device, terminal: calls never wait in grove
};

// A copy of what the description says, taken once per call.
struct FdFacts {
  FdKind kind = FdKind::unknown;
  bool nonblock = false;      // the program's O_NONBLOCK
  bool stream = false;        // SOCK_STREAM: a blocking send sends everything
  bool inet_or_unix = false;  // AF_INET, AF_INET6 or AF_UNIX: connect/accept may be made cooperative
  bool tcp = false;           // TCP (or MPTCP): a read that comes up short emptied the receive queue
  bool rwf_nowait = true;     // preadv2/pwritev2 accept RWF_NOWAIT (false once EOPNOTSUPP was seen)
  std::int64_t rcvtimeo_ns = 0;  // 0: none
  std::int64_t sndtimeo_ns = 0;
};

struct FdRecord {
  std::atomic<std::uint32_t> gen{0};
  std::atomic<std::uint32_t> desc{0};  // index of its Description; 0: not learnt yet

  // Wait state (fd_wait.cpp): valid for generation `wait_gen`, owned by `owner`'s thread.
  std::atomic<Hub*> owner{nullptr};
  std::uint32_t wait_gen = 0;
  bool registered = false;   // in owner's poller
  bool unpollable = false;   // the poller refused it: calls on it block for real
  bool read_ready = false;   // an edge arrived while nobody waited: the next wait returns at once
  bool write_ready = false;
  // The last read of this stream socket came up short (it emptied the receive queue), and no
  // wait has used up an edge since: the next read waits first instead of meeting EAGAIN
  // (fd_call.cpp). Data that arrives later is an edge, so waiting first loses nothing.
  bool read_drained = false;
  bool no_wait_first = false;  // PollEvent::final_or_urgent was seen: never again on this file
  WaitList readers;
  WaitList writers;
  WaitList watchers;  // greenlets in poll()-like waits on this fd among others

  WaitList& waiters(Interest in) noexcept { return in == Interest::read ? readers : writers; }
  bool& ready(Interest in) noexcept { return in == Interest::read ? read_ready : write_ready; }
};

// The record of fd, its page allocated if needed; nullptr for a negative fd, one beyond the
// table, or when no memory is left.
FdRecord* fd_record(int fd) noexcept;
// The record if its page exists (never allocates).
FdRecord* find_fd_record(int fd) noexcept;
std::uint32_t fd_generation(int fd) noexcept;

// What grove knows of fd; learns it from the kernel on first sight. FdKind::unknown if fd is
// not open (the caller's system call then reports EBADF).
FdFacts fd_facts(int fd) noexcept;
// Learns it from the kernel again (the description was stale: the number was reused behind
// grove's back).
FdFacts fd_relearn(int fd) noexcept;

// A socket the program just created or accepted: its facts are known without asking the kernel.
// `f.kind` is set here.
void fd_learn_socket(int fd, FdFacts f) noexcept;
// What a socket made by socket(domain, type, protocol) is, before any option is set.
FdFacts new_socket_facts(int domain, int type, int protocol) noexcept;
// fd was just opened by a call that does not tell grove what it is: forget any description left
// by a close grove could not see; the kernel is asked on first use.
void fd_forget_description(int fd) noexcept;
// fd is about to be closed (or replaced by dup2): drops its description and starts a new
// generation, which it returns. The wait state is the owner hub's to reset (fd_wait.cpp).
std::uint32_t fd_retire(int fd) noexcept;
// `to` now refers to the same open file description as `from` (dup, dup2, dup3, F_DUPFD).
void fd_share(int from, int to) noexcept;
// The program changed O_NONBLOCK, a socket timeout, or the kernel refused RWF_NOWAIT for fd.
void fd_set_nonblock(int fd, bool on) noexcept;
void fd_set_timeout(int fd, Interest in, std::int64_t ns) noexcept;
void fd_set_no_rwf_nowait(int fd) noexcept;

// Visits every record whose page exists (fork and hub teardown; not for hot paths).
void for_each_fd_record(void (*fn)(int fd, FdRecord& r, void* arg), void* arg) noexcept;

inline std::uint64_t fd_token(int fd, std::uint32_t gen) noexcept {
  return (std::uint64_t{gen} << 32) | static_cast<std::uint32_t>(fd);
}
inline int token_fd(std::uint64_t t) noexcept { return static_cast<int>(t & 0xffffffffu); }
inline std::uint32_t token_gen(std::uint64_t t) noexcept { return static_cast<std::uint32_t>(t >> 32); }

}  // namespace grove::detail

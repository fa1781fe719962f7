// fd_table.hpp — what grove knows about file descriptors, in two layers.
//
// FdTable (one per hub, so per thread): the hub's registration of each fd it has waited on, and
// one reader slot and one writer slot — a second greenlet waiting in the same direction is a
// usage error, not a silent hang — plus the greenlets waiting in poll()-like calls.
//
// FdStates (one per process, since fd numbers are): the program's own view of each fd, as the
// interposer tracks it (its O_NONBLOCK, SO_RCVTIMEO/SNDTIMEO, whether it is a socket grove
// created), and a generation that changes whenever the number is closed. A hub's entry records
// the generation it registered under; when they differ the number was closed — maybe by another
// thread — and reused, and the entry starts clean. The generation is part of the poller token,
// so an event or waker for the old file never reaches the new one.
//
// Both grow in pages as higher numbers appear (no fixed cap beyond the kernel's own nr_open
// limit); entries never move, so a parked waiter may hold a pointer to its entry.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "waiter.hpp"

namespace grove::detail {

struct FdState {
  static constexpr std::uint32_t known = 1;          // grove has seen the fd opened or checked it
  static constexpr std::uint32_t socket = 2;
  static constexpr std::uint32_t user_nonblock = 4;  // the program asked for O_NONBLOCK
  static constexpr std::uint32_t owned = 8;          // created through grove: O_NONBLOCK is ours to set
  static constexpr std::uint32_t passthrough = 16;   // regular file, terminal…: never parks

  std::atomic<std::uint32_t> gen{0};
  std::atomic<std::uint32_t> flags{0};
  std::atomic<std::int64_t> rcvtimeo_ns{0};  // 0: none
  std::atomic<std::int64_t> sndtimeo_ns{0};
};

// The process-wide state of fd; nullptr for a negative fd or one beyond nr_open.
FdState* fd_state(int fd) noexcept;
std::uint32_t fd_generation(int fd) noexcept;
// fd is being closed: forget the program's view of it and start a new generation, which it returns.
std::uint32_t fd_closed(int fd) noexcept;

struct GreenletCore;

enum class Interest : std::uint8_t { read, write };

struct FdEntry {
  std::uint32_t gen = 0;     // the process-wide generation this entry is valid for
  bool registered = false;   // added to the poller
  bool unpollable = false;   // the kernel cannot poll it (regular file): always ready
  bool nonblock_set = false; // grove's C++ API made it O_NONBLOCK
  // Edge seen while nobody waited: the next wait returns at once (and the syscall is retried).
  bool read_ready = false;
  bool write_ready = false;
  GreenletCore* reader = nullptr;
  GreenletCore* writer = nullptr;
  WaitList watchers;  // greenlets in poll()-like waits on this fd among others

  GreenletCore*& slot(Interest i) noexcept { return i == Interest::read ? reader : writer; }
  bool& ready_flag(Interest i) noexcept { return i == Interest::read ? read_ready : write_ready; }
};

class FdTable {
 public:
  // The entry for fd, created on demand. fd must be >= 0. An entry left from a closed file of the
  // same number is reset first (its waiters, if any, were woken when the fd was forgotten).
  FdEntry& get(int fd);
  // The entry if one was ever created, else nullptr.
  FdEntry* find(int fd) noexcept;

  template <class F>
  void for_each(F f) {
    for (std::size_t p = 0; p < pages_.size(); ++p)
      if (pages_[p])
        for (int i = 0; i < kPageSize; ++i) f(static_cast<int>(p << kPageBits) + i, pages_[p][i]);
  }

  static std::uint64_t token(int fd, const FdEntry& e) noexcept {
    return (std::uint64_t{e.gen} << 32) | static_cast<std::uint32_t>(fd);
  }
  static int token_fd(std::uint64_t t) noexcept { return static_cast<int>(t & 0xffffffffu); }
  static std::uint32_t token_gen(std::uint64_t t) noexcept { return static_cast<std::uint32_t>(t >> 32); }

 private:
  static constexpr int kPageBits = 8;
  static constexpr int kPageSize = 1 << kPageBits;
  std::vector<std::unique_ptr<FdEntry[]>> pages_;
};

}  // namespace grove::detail

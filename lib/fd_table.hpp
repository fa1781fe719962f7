// fd_table.hpp — what the hub knows about each file descriptor it has waited on.
//
// Indexed by fd number, grown in pages as higher numbers appear (no fixed cap; entries never
// move, so a parked waiter may hold a pointer to its entry). Each entry has one reader slot and
// one writer slot: a second greenlet waiting in the same direction is a usage error, not a silent
// hang. `gen` changes whenever the fd is forgotten (closed), and is part of the poller token, so
// an event or waker for the old file never reaches the new one.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace grove::detail {

struct GreenletCore;

enum class Interest : std::uint8_t { read, write };

struct FdEntry {
  std::uint32_t gen = 0;
  bool registered = false;   // added to the poller
  bool unpollable = false;   // the kernel cannot poll it (regular file): always ready
  bool nonblock_set = false; // grove's C++ API made it O_NONBLOCK
  // Edge seen while nobody waited: the next wait returns at once (and the syscall is retried).
  bool read_ready = false;
  bool write_ready = false;
  GreenletCore* reader = nullptr;
  GreenletCore* writer = nullptr;

  GreenletCore*& slot(Interest i) noexcept { return i == Interest::read ? reader : writer; }
  bool& ready_flag(Interest i) noexcept { return i == Interest::read ? read_ready : write_ready; }
};

class FdTable {
 public:
  // The entry for fd, created on demand. fd must be >= 0.
  FdEntry& get(int fd);
  // The entry if one was ever created, else nullptr.
  FdEntry* find(int fd) noexcept;

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

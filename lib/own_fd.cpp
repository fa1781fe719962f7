#include "own_fd.hpp"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <climits>
#include <mutex>

#include "log.hpp"
#include "sys.hpp"

namespace grove::detail {

namespace {

struct Own {
  int fd;
  std::atomic<int>* slot;
};

// A handful per hub; a fixed table (no allocation, nothing destroyed at exit: hooks run then).
constexpr int kMax = 512;
std::mutex g_mu;
Own g_own[kMax];
int g_count = 0;
std::atomic<int> g_lowest{INT_MAX};  // below this no fd is grove's: the close hook's fast path

void recompute_lowest_locked() noexcept {
  int low = INT_MAX;
  for (int i = 0; i < g_count; ++i) low = std::min(low, g_own[i].fd);
  g_lowest.store(low, std::memory_order_release);
}

// The lowest free number at or above a high base, duplicated from fd (close-on-exec); -1 if none.
int high_copy(int fd) noexcept {
  rlimit rl{};
  if (sys::detail::call(SYS_getrlimit, RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 64) return -1;
  const long cur = static_cast<long>(std::min<rlim_t>(rl.rlim_cur, 1 << 20));
  const long base = cur > 1024 ? cur - 256 : cur - cur / 4;
  const long r = sys::fcntl(fd, F_DUPFD_CLOEXEC, base);
  return r < 0 ? -1 : static_cast<int>(r);
}

}  // namespace

int own_fd(int fd, std::atomic<int>* slot) noexcept {
  if (fd < 0) return fd;
  if (const int high = high_copy(fd); high >= 0) {
    sys::close(fd);
    fd = high;
  }
  std::lock_guard lock(g_mu);
  if (g_count < kMax) {
    g_own[g_count++] = {fd, slot};
    recompute_lowest_locked();
  }
  if (slot) slot->store(fd, std::memory_order_release);
  return fd;
}

void disown_fd(int fd) noexcept {
  if (fd < g_lowest.load(std::memory_order_acquire)) return;
  std::lock_guard lock(g_mu);
  for (int i = 0; i < g_count; ++i)
    if (g_own[i].fd == fd) {
      g_own[i] = g_own[--g_count];
      recompute_lowest_locked();
      return;
    }
}

bool is_own_fd(int fd) noexcept {
  if (fd < g_lowest.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(g_mu);
  for (int i = 0; i < g_count; ++i)
    if (g_own[i].fd == fd) return true;
  return false;
}

void move_own_fd_away(int fd) noexcept {
  if (fd < g_lowest.load(std::memory_order_acquire)) return;
  std::lock_guard lock(g_mu);
  for (int i = 0; i < g_count; ++i) {
    if (g_own[i].fd != fd) continue;
    if (!g_own[i].slot) {
      GROVE_LOG(error, "the program replaces fd %d, which grove uses internally (a DNS socket); lookups on "
                       "this thread may fail", fd);
      g_own[i] = g_own[--g_count];
      recompute_lowest_locked();
      return;
    }
    long moved = sys::fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
    if (moved < 0) moved = sys::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (moved < 0) {
      GROVE_LOG(error, "cannot move grove's fd %d out of the program's way", fd);
      return;
    }
    // The owner reads the slot for every use; the old number is the program's from now on (the
    // dup2 that follows closes it).
    g_own[i].slot->store(static_cast<int>(moved), std::memory_order_release);
    g_own[i].fd = static_cast<int>(moved);
    recompute_lowest_locked();
    return;
  }
}

int own_fds_between(unsigned first, unsigned last, int* out, int max) noexcept {
  if (last < static_cast<unsigned>(std::max(0, g_lowest.load(std::memory_order_acquire)))) return 0;
  std::lock_guard lock(g_mu);
  int n = 0;
  for (int i = 0; i < g_count && n < max; ++i) {
    const auto u = static_cast<unsigned>(g_own[i].fd);
    if (u >= first && u <= last) out[n++] = g_own[i].fd;
  }
  std::sort(out, out + n);
  return n;
}

}  // namespace grove::detail

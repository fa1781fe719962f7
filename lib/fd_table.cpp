#include "fd_table.hpp"

#include <mutex>

namespace grove::detail {

namespace {

// Process-wide states: a fixed top level of lazily allocated pages. 4096 pages of 1024 entries
// cover 4M descriptors, beyond Linux's default nr_open (1M); pages are never freed.
constexpr int kStateBits = 10;
constexpr std::size_t kStatePages = 4096;
std::atomic<FdState*> g_state_pages[kStatePages];
std::mutex g_state_grow;

}  // namespace

FdState* fd_state(int fd) noexcept {
  if (fd < 0) return nullptr;
  const auto page = static_cast<std::size_t>(fd) >> kStateBits;
  if (page >= kStatePages) return nullptr;
  FdState* p = g_state_pages[page].load(std::memory_order_acquire);
  if (!p) {
    std::lock_guard lock(g_state_grow);
    p = g_state_pages[page].load(std::memory_order_relaxed);
    if (!p) {
      p = new (std::nothrow) FdState[std::size_t{1} << kStateBits];
      if (!p) return nullptr;
      g_state_pages[page].store(p, std::memory_order_release);
    }
  }
  return &p[fd & ((1 << kStateBits) - 1)];
}

std::uint32_t fd_generation(int fd) noexcept {
  FdState* s = fd_state(fd);
  return s ? s->gen.load(std::memory_order_acquire) : 0;
}

std::uint32_t fd_closed(int fd) noexcept {
  FdState* s = fd_state(fd);
  if (!s) return 0;
  s->flags.store(0, std::memory_order_relaxed);
  s->rcvtimeo_ns.store(0, std::memory_order_relaxed);
  s->sndtimeo_ns.store(0, std::memory_order_relaxed);
  return s->gen.fetch_add(1, std::memory_order_acq_rel) + 1;
}

FdEntry& FdTable::get(int fd) {
  const auto page = static_cast<std::size_t>(fd) >> kPageBits;
  if (page >= pages_.size()) pages_.resize(page + 1);
  if (!pages_[page]) pages_[page] = std::make_unique<FdEntry[]>(kPageSize);
  FdEntry& e = pages_[page][fd & (kPageSize - 1)];
  const std::uint32_t gen = fd_generation(fd);
  if (e.gen != gen && !e.reader && !e.writer && e.watchers.empty()) {
    // Closed behind this hub's back (another thread, or a close grove did not see) and reused.
    e.registered = e.unpollable = e.nonblock_set = e.read_ready = e.write_ready = false;
    e.gen = gen;
  }
  return e;
}

FdEntry* FdTable::find(int fd) noexcept {
  if (fd < 0) return nullptr;
  const auto page = static_cast<std::size_t>(fd) >> kPageBits;
  if (page >= pages_.size() || !pages_[page]) return nullptr;
  return &pages_[page][fd & (kPageSize - 1)];
}

}  // namespace grove::detail

#include "fd_record.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <fcntl.h>

#include <pthread.h>

#include <mutex>
#include <new>

#include "sys.hpp"

namespace grove::detail {

namespace {

// --- paged tables ---------------------------------------------------------------------------------
// A fixed top level of lazily allocated pages: 4096 pages of 1024 entries cover 4M descriptors,
// beyond Linux's default nr_open (1M). Pages are never freed.
constexpr int kPageBits = 10;
constexpr std::size_t kPageSize = std::size_t{1} << kPageBits;
constexpr std::size_t kPages = 4096;

template <class T>
class PagedTable {
 public:
  T* find(std::size_t i) const noexcept {
    const std::size_t page = i >> kPageBits;
    if (page >= kPages) return nullptr;
    T* p = pages_[page].load(std::memory_order_acquire);
    return p ? &p[i & (kPageSize - 1)] : nullptr;
  }
  T* get(std::size_t i) noexcept {
    if (T* e = find(i)) return e;
    const std::size_t page = i >> kPageBits;
    if (page >= kPages) return nullptr;
    std::lock_guard lock(grow_);
    T* p = pages_[page].load(std::memory_order_relaxed);
    if (!p) {
      p = new (std::nothrow) T[kPageSize];
      if (!p) return nullptr;
      pages_[page].store(p, std::memory_order_release);
    }
    return &p[i & (kPageSize - 1)];
  }
  void reinit_lock() noexcept { new (&grow_) std::mutex; }
  template <class F>
  void for_each(F f) const {
    for (std::size_t page = 0; page < kPages; ++page)
      if (T* p = pages_[page].load(std::memory_order_acquire))
        for (std::size_t i = 0; i < kPageSize; ++i) f((page << kPageBits) | i, p[i]);
  }

 private:
  std::atomic<T*> pages_[kPages] = {};
  std::mutex grow_;
};

// --- descriptions ---------------------------------------------------------------------------------

struct Description {
  static constexpr std::uint32_t kKindMask = 3;  // FdKind
  static constexpr std::uint32_t kNonblock = 1u << 2;
  static constexpr std::uint32_t kStream = 1u << 3;
  static constexpr std::uint32_t kInetOrUnix = 1u << 4;
  static constexpr std::uint32_t kNoRwfNowait = 1u << 5;
  static constexpr std::uint32_t kTcp = 1u << 6;

  std::atomic<std::uint32_t> refs{0};  // fds that refer to it; 0: free
  std::atomic<std::uint32_t> bits{0};
  std::atomic<std::int64_t> rcvtimeo_ns{0};
  std::atomic<std::int64_t> sndtimeo_ns{0};
  std::uint32_t next_free = 0;  // free list link, under g_desc_mu
};

// Nothing here has a destructor: hooks may run during static destruction at exit.
PagedTable<FdRecord> g_records;
PagedTable<Description> g_descs;
std::mutex g_desc_mu;
std::uint32_t g_desc_free = 0;  // under g_desc_mu: head of the free list
std::uint32_t g_desc_next = 1;  // under g_desc_mu: first never-used index (0 means "none")

std::uint32_t encode(const FdFacts& f) noexcept {
  std::uint32_t b = static_cast<std::uint32_t>(f.kind);
  if (f.nonblock) b |= Description::kNonblock;
  if (f.stream) b |= Description::kStream;
  if (f.inet_or_unix) b |= Description::kInetOrUnix;
  if (!f.rwf_nowait) b |= Description::kNoRwfNowait;
  if (f.tcp) b |= Description::kTcp;
  return b;
}

FdFacts decode(const Description& d) noexcept {
  const std::uint32_t b = d.bits.load(std::memory_order_acquire);
  FdFacts f;
  f.kind = static_cast<FdKind>(b & Description::kKindMask);
  f.nonblock = b & Description::kNonblock;
  f.stream = b & Description::kStream;
  f.inet_or_unix = b & Description::kInetOrUnix;
  f.rwf_nowait = !(b & Description::kNoRwfNowait);
  f.tcp = b & Description::kTcp;
  f.rcvtimeo_ns = d.rcvtimeo_ns.load(std::memory_order_relaxed);
  f.sndtimeo_ns = d.sndtimeo_ns.load(std::memory_order_relaxed);
  return f;
}

// A new description holding `f`, with one reference; 0 when out of memory.
std::uint32_t new_description(const FdFacts& f) noexcept {
  std::uint32_t i;
  Description* d;
  {
    std::lock_guard lock(g_desc_mu);
    if (g_desc_free != 0) {
      i = g_desc_free;
      d = g_descs.find(i);
      g_desc_free = d->next_free;
    } else {
      d = g_descs.get(g_desc_next);
      if (!d) return 0;
      i = g_desc_next++;
    }
  }
  d->rcvtimeo_ns.store(f.rcvtimeo_ns, std::memory_order_relaxed);
  d->sndtimeo_ns.store(f.sndtimeo_ns, std::memory_order_relaxed);
  d->bits.store(encode(f), std::memory_order_relaxed);
  d->refs.store(1, std::memory_order_release);
  return i;
}

void release(std::uint32_t i) noexcept {
  if (i == 0) return;
  Description* d = g_descs.find(i);
  if (!d || d->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::lock_guard lock(g_desc_mu);
  d->next_free = g_desc_free;
  g_desc_free = i;
}

// One more reference to description i, unless it was freed meanwhile (a close racing a dup).
bool acquire(std::uint32_t i) noexcept {
  Description* d = g_descs.find(i);
  if (!d) return false;
  std::uint32_t n = d->refs.load(std::memory_order_acquire);
  while (n > 0)
    if (d->refs.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) return true;
  return false;
}

Description* description_of(int fd) noexcept {
  FdRecord* r = find_fd_record(fd);
  if (!r) return nullptr;
  const std::uint32_t i = r->desc.load(std::memory_order_acquire);
  return i ? g_descs.find(i) : nullptr;
}

std::int64_t timeval_ns(const timeval& tv) noexcept {
  return std::int64_t{tv.tv_sec} * 1'000'000'000 + std::int64_t{tv.tv_usec} * 1000;
}

bool is_tcp(int protocol) noexcept { return protocol == IPPROTO_TCP || protocol == 262 /* IPPROTO_MPTCP */; }

// Asks the kernel what fd is. kind stays unknown if it is not open.
FdFacts probe(int fd) noexcept {
  FdFacts f;
  struct stat st;
  if (sys::fstat(fd, &st) != 0) return f;
  const long fl = sys::fcntl(fd, F_GETFL);
  f.nonblock = fl >= 0 && (fl & O_NONBLOCK);
  if (S_ISSOCK(st.st_mode)) {
    f.kind = FdKind::socket;
    int v = 0;
    socklen_t len = sizeof v;
    f.stream = sys::getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_STREAM;
    len = sizeof v;
    int domain = 0;
    len = sizeof domain;
    f.inet_or_unix = sys::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
                     (domain == AF_INET || domain == AF_INET6 || domain == AF_UNIX);
    len = sizeof v;
    f.tcp = f.stream && (domain == AF_INET || domain == AF_INET6) &&
            sys::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && is_tcp(v);
    timeval tv{};
    len = sizeof tv;
    if (sys::getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0) f.rcvtimeo_ns = timeval_ns(tv);
    len = sizeof tv;
    if (sys::getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0) f.sndtimeo_ns = timeval_ns(tv);
  } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) {
    f.kind = FdKind::passthrough;  // never "not ready"
  } else if (S_ISCHR(st.st_mode)) {
    termios t;
    f.kind = sys::ioctl(fd, TCGETS, &t) == 0 ? FdKind::passthrough : FdKind::pollable;  // terminals block as in libc
  } else {
    f.kind = FdKind::pollable;  // FIFO, or an anonymous inode (eventfd, timerfd, signalfd…)
  }
  return f;
}

// Records `f` as fd's description unless another thread learnt it first; returns what holds.
FdFacts install(FdRecord& r, const FdFacts& f) noexcept {
  const std::uint32_t mine = new_description(f);
  if (mine == 0) return f;  // out of memory: use the facts for this call only
  std::uint32_t none = 0;
  if (r.desc.compare_exchange_strong(none, mine, std::memory_order_acq_rel)) return f;
  release(mine);
  if (Description* d = g_descs.find(none)) return decode(*d);
  return f;
}

// In the child of fork(), another thread may have held a lock at the time: start with fresh ones.
void reinit_locks_in_child() noexcept {
  g_records.reinit_lock();
  g_descs.reinit_lock();
  new (&g_desc_mu) std::mutex;
}

__attribute__((constructor)) void register_fork_handler() { ::pthread_atfork(nullptr, nullptr, reinit_locks_in_child); }

}  // namespace

FdRecord* fd_record(int fd) noexcept { return fd < 0 ? nullptr : g_records.get(static_cast<std::size_t>(fd)); }

FdRecord* find_fd_record(int fd) noexcept {
  return fd < 0 ? nullptr : g_records.find(static_cast<std::size_t>(fd));
}

std::uint32_t fd_generation(int fd) noexcept {
  FdRecord* r = find_fd_record(fd);
  return r ? r->gen.load(std::memory_order_acquire) : 0;
}

FdFacts fd_facts(int fd) noexcept {
  FdRecord* r = fd_record(fd);
  if (!r) return probe(fd);
  if (const std::uint32_t i = r->desc.load(std::memory_order_acquire))
    if (Description* d = g_descs.find(i)) return decode(*d);
  FdFacts f = probe(fd);
  if (f.kind == FdKind::unknown) return f;
  return install(*r, f);
}

FdFacts fd_relearn(int fd) noexcept {
  if (FdRecord* r = find_fd_record(fd)) release(r->desc.exchange(0, std::memory_order_acq_rel));
  return fd_facts(fd);
}

void fd_learn_socket(int fd, FdFacts f) noexcept {
  FdRecord* r = fd_record(fd);
  if (!r) return;
  release(r->desc.exchange(0, std::memory_order_acq_rel));  // left by a close grove did not see
  f.kind = FdKind::socket;
  install(*r, f);
}

FdFacts new_socket_facts(int domain, int type, int protocol) noexcept {
  FdFacts f;
  f.kind = FdKind::socket;
  f.nonblock = type & SOCK_NONBLOCK;
  f.stream = (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM;
  const bool inet = domain == AF_INET || domain == AF_INET6;
  f.inet_or_unix = inet || domain == AF_UNIX;
  f.tcp = f.stream && inet && (protocol == 0 || is_tcp(protocol));
  return f;
}

void fd_forget_description(int fd) noexcept {
  if (FdRecord* r = find_fd_record(fd); r && r->desc.load(std::memory_order_relaxed) != 0)
    release(r->desc.exchange(0, std::memory_order_acq_rel));
}

std::uint32_t fd_retire(int fd) noexcept {
  FdRecord* r = find_fd_record(fd);
  if (!r) return 0;
  release(r->desc.exchange(0, std::memory_order_acq_rel));
  return r->gen.fetch_add(1, std::memory_order_acq_rel) + 1;
}

void fd_share(int from, int to) noexcept {
  FdRecord* rf = find_fd_record(from);
  FdRecord* rt = fd_record(to);
  if (!rt) return;
  std::uint32_t i = rf ? rf->desc.load(std::memory_order_acquire) : 0;
  if (i != 0 && !acquire(i)) i = 0;
  release(rt->desc.exchange(i, std::memory_order_acq_rel));
}

void fd_set_nonblock(int fd, bool on) noexcept {
  Description* d = description_of(fd);
  if (!d) return;  // not learnt yet: the kernel will say when it is
  if (on)
    d->bits.fetch_or(Description::kNonblock, std::memory_order_acq_rel);
  else
    d->bits.fetch_and(~Description::kNonblock, std::memory_order_acq_rel);
}

void fd_set_timeout(int fd, Interest in, std::int64_t ns) noexcept {
  Description* d = description_of(fd);
  if (!d) return;
  (in == Interest::read ? d->rcvtimeo_ns : d->sndtimeo_ns).store(ns, std::memory_order_relaxed);
}

void fd_set_no_rwf_nowait(int fd) noexcept {
  if (Description* d = description_of(fd)) d->bits.fetch_or(Description::kNoRwfNowait, std::memory_order_acq_rel);
}

void for_each_fd_record(void (*fn)(int fd, FdRecord& r, void* arg), void* arg) noexcept {
  g_records.for_each([&](std::size_t i, FdRecord& r) { fn(static_cast<int>(i), r, arg); });
}

}  // namespace grove::detail

#include "green_futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>

#include "grove/detail/spin_lock.hpp"
#include "grove/nothrow.hpp"
#include "hub.hpp"
#include "log.hpp"
#include "sys.hpp"
#include "uninterruptible.hpp"

namespace grove::detail {

namespace {

struct Node {
  const std::uint32_t* word;
  GreenletCore* g;
  std::uint64_t gen;
  Node* next = nullptr;
  Node* prev = nullptr;
  bool linked = false;
};

struct alignas(64) Bucket {
  SpinLock busy;  // never held across a park: spins, then yields the CPU (spin_lock.hpp)
  Node* head = nullptr;
  Node* tail = nullptr;
  std::atomic<int> kernel_waiters{0};

  void lock() noexcept { busy.lock(); }
  void unlock() noexcept { busy.unlock(); }
  void push(Node* n) noexcept {
    n->next = nullptr;
    n->prev = tail;
    (tail ? tail->next : head) = n;
    tail = n;
    n->linked = true;
  }
  void remove(Node* n) noexcept {
    (n->prev ? n->prev->next : head) = n->next;
    (n->next ? n->next->prev : tail) = n->prev;
    n->next = n->prev = nullptr;
    n->linked = false;
  }
};

// Constant-initialised, never destroyed (hooks run during static destruction too).
constexpr int kBuckets = 1024;
Bucket g_buckets[kBuckets];

Bucket& bucket_of(const std::uint32_t* word) noexcept {
  auto a = reinterpret_cast<std::uintptr_t>(word) >> 2;
  a ^= a >> 10;
  return g_buckets[a & (kBuckets - 1)];
}

std::uint32_t load(const std::uint32_t* word) noexcept {
  return __atomic_load_n(word, __ATOMIC_SEQ_CST);
}

FutexWait wait_parked(Hub& hub, const std::uint32_t* word, std::uint32_t expected, std::int64_t deadline,
                      const char* reason, bool interruptible, const int* owner) noexcept {
  Bucket& b = bucket_of(word);
  GreenletCore* self = hub.current();
  Node node{word, self, self->park_gen};
  share_park(self);  // a waker on another thread claims it under the bucket lock (futex_wake)
  b.lock();
  if (load(word) != expected) {
    b.unlock();
    return FutexWait::mismatch;
  }
  b.push(&node);
  b.unlock();
  // Locks and condition variables do not end with GreenletExit or TimeoutError: pthread calls
  // have no such errors. A pending kill waits for the next call that can report it.
  SetAside aside(self);
  for (;;) {
    const Wake w = park(reason, deadline, -1, interruptible, word);  // dumps: "pthread_mutex_lock 0x…"
    if (w == Wake::unparked) return FutexWait::woken;  // the waker took the node off the list
    b.lock();
    const bool still_waiting = node.linked;
    if (still_waiting && w != Wake::killed && w != Wake::scope_timeout) b.remove(&node);
    b.unlock();
    if (!still_waiting) return FutexWait::woken;  // woken at the same moment: the wake counts
    switch (w) {
      case Wake::deadline: return FutexWait::timed_out;
      case Wake::interrupted:
      case Wake::interrupted_restart: return FutexWait::interrupted;
      case Wake::blocked_forever:
        // Natively a hang; here at least the report says who waits on what. Then wait as a thread
        // would: only another OS thread can still wake this one.
        if (!owner || __atomic_load_n(owner, __ATOMIC_RELAXED) <= 0)
          log::write(log::Level::error, "%s", hub.blocked_report().c_str());
        return FutexWait::never;
      case Wake::killed:
      case Wake::scope_timeout:  // still on the list: wait on, in the next park
        aside.note_kill();
        share_park(self);
        b.lock();
        node.gen = self->park_gen;
        b.unlock();
        continue;
      default: return FutexWait::woken;
    }
  }
}

FutexWait wait_in_kernel(const std::uint32_t* word, std::uint32_t expected, std::int64_t deadline) noexcept {
  Bucket& b = bucket_of(word);
  timespec rel{}, *timeout = nullptr;
  if (deadline != kNever) {
    const std::int64_t left = deadline - now_ns();
    if (left <= 0) return FutexWait::timed_out;
    rel = {static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    timeout = &rel;
  }
  b.kernel_waiters.fetch_add(1, std::memory_order_seq_cst);
  const long r = sys::detail::call(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0);
  b.kernel_waiters.fetch_sub(1, std::memory_order_relaxed);
  if (r == -EAGAIN) return FutexWait::mismatch;
  if (r == -ETIMEDOUT) return FutexWait::timed_out;
  if (r == -EINTR) return FutexWait::interrupted;
  return FutexWait::woken;
}

}  // namespace

FutexWait futex_wait(const std::uint32_t* word, std::uint32_t expected, std::int64_t deadline_ns, const char* reason,
                     bool interruptible, const int* owner) noexcept {
  Hub* hub = tl_ctx.hub;
  if (hub && !hub->current()->is_hub && !tl_ctx.handler_frame) {
    FutexWait r;
    try {
      r = wait_parked(*hub, word, expected, deadline_ns, reason, interruptible, owner);
    } catch (...) {
      r = FutexWait::never;  // park() allocates nothing; should it ever throw, block for real
    }
    if (r != FutexWait::never) return r;
  }
  if (!hub) return wait_in_kernel(word, expected, deadline_ns);
  // Every greenlet of this hub waits meanwhile: GROVE_MONITOR names the call if it lasts.
  nothrow::real_call_begin(reason, word);
  const FutexWait r = wait_in_kernel(word, expected, deadline_ns);
  nothrow::real_call_end();
  return r;
}

int futex_wake(const std::uint32_t* word, int n, bool kernel_too) noexcept {
  if (n < 0) n = INT_MAX;
  Bucket& b = bucket_of(word);
  // Claimed under the bucket lock, so that the waiter cannot end its park (a deadline, a kill)
  // and go away between being taken off the list and being woken; delivered after the lock.
  constexpr int kBatch = 32;
  GreenletCore* woken[kBatch];
  int total = 0;
  for (bool more = true; more && total < n;) {
    int k = 0, taken = 0;
    b.lock();
    for (Node* p = b.head; p && total + taken < n && taken < kBatch;) {
      Node* next = p->next;
      if (p->word == word) {
        b.remove(p);
        ++taken;  // counts as woken either way: a waiter that finds itself off the list returns so
        if (claim(p->g, p->gen, Wake::unparked)) woken[k++] = p->g;
      }
      p = next;
    }
    more = taken == kBatch;
    b.unlock();
    for (int i = 0; i < k; ++i) deliver(woken[i]);
    total += taken;
  }
  if (total < n && (kernel_too || b.kernel_waiters.load(std::memory_order_seq_cst) > 0)) {
    // Private first (what this process's threads wait with); the shared form reaches waiters that
    // did not say private, in this process or another (the program's own futexes only).
    long r = sys::detail::call(SYS_futex, word, FUTEX_WAKE_PRIVATE, n - total, nullptr, nullptr, 0);
    if (r > 0) total += static_cast<int>(r);
    if (kernel_too && total < n) {
      r = sys::detail::call(SYS_futex, word, FUTEX_WAKE, n - total, nullptr, nullptr, 0);
      if (r > 0) total += static_cast<int>(r);
    }
  }
  return total;
}

}  // namespace grove::detail

// mutex.hpp — grove::Mutex: mutual exclusion between greenlets of one thread.
//
//   grove::Mutex m;
//   { std::lock_guard lock(m); balance += x; grove::sleep(1ms); }   // held across the park
//
// Greenlets only switch at blocking calls, so a Mutex is needed only around code that blocks
// while an invariant is broken. It is owned by the greenlet that locked it: unlocking it from
// another greenlet, unlocking it when unlocked, or locking it again from its owner (it is not
// recursive) is a grove::UsageError naming both greenlets. unlock() hands ownership to the
// longest-waiting greenlet (FIFO; no barging). lock() honours kill() and grove::Timeout scopes;
// try_lock_for() gives up after a timeout. Works with std::lock_guard, std::unique_lock and
// std::scoped_lock. A greenlet that ends while holding a Mutex leaves it locked — use RAII.
//
// grove::Mutex belongs to one hub; grove::mt::Mutex works between greenlets of different hubs
// and plain threads (each plain thread is one owner), with the same guarantees.
#pragma once

#include <atomic>

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

class CondVar;

class Mutex {
 public:
  Mutex() noexcept : lock_(false) { waiters_.set_owner_name("grove::Mutex"); }
  // Internal: the grove::mt constructor.
  explicit Mutex(detail::SharedTag) noexcept : lock_(true) {
    waiters_.set_owner_name("grove::mt::Mutex");
    waiters_.set_shared();
  }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock();
  bool try_lock();
  // false if `timeout` passed before the lock was free.
  bool try_lock_for(Duration timeout);
  void unlock();

  bool locked() const noexcept { return owner_.load(std::memory_order_relaxed) != nullptr; }
  // Held by the calling greenlet.
  bool held() const;

 private:
  friend class CondVar;
  bool lock_until(std::int64_t deadline_ns);
  // For CondVar::wait, which must hold the lock again even when it throws.
  void relock_uninterruptibly() noexcept;
  // unlock() by the greenlet that holds it (CondVar::wait has checked that).
  void unlock_held() noexcept;
  template <bool Shared>
  bool lock_impl(std::int64_t deadline_ns);
  template <bool Shared>
  void relock_impl() noexcept;
  template <bool Shared>
  void unlock_impl() noexcept;

  detail::PrimitiveLock lock_;
  std::atomic<detail::GreenletCore*> owner_{nullptr};
  detail::Waiters waiters_;
};

namespace mt {

// grove::Mutex for greenlets of several hubs and plain threads.
class Mutex : public grove::Mutex {
 public:
  Mutex() noexcept : grove::Mutex(detail::shared) {}
};

}  // namespace mt

}  // namespace grove

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
#pragma once

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

class CondVar;

class Mutex {
 public:
  Mutex() noexcept { waiters_.set_owner_name("grove::Mutex"); }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock();
  bool try_lock();
  // false if `timeout` passed before the lock was free.
  bool try_lock_for(Duration timeout);
  void unlock();

  bool locked() const noexcept { return owner_ != nullptr; }
  // Held by the calling greenlet.
  bool held() const;

 private:
  friend class CondVar;
  bool lock_until(std::int64_t deadline_ns);
  // For CondVar::wait, which must hold the lock again even when it throws.
  void relock_uninterruptibly() noexcept;

  detail::GreenletCore* owner_ = nullptr;
  detail::Waiters waiters_;
};

}  // namespace grove

// condvar.hpp — grove::CondVar: wait for a condition under a grove::Mutex; grove::mt::CondVar,
// the same between hubs under a grove::mt::Mutex.
//
//   std::unique_lock lock(m);
//   cv.wait(lock, [&] { return !items.empty(); });
//
// As std::condition_variable, but for greenlets: notify_one() wakes the longest waiter (FIFO),
// notify_all() every waiter. wait() returns with the lock held — also when it throws
// GreenletExit (kill) or grove::TimeoutError (an enclosing Timeout scope): re-taking the lock is
// not interrupted, the interruption is thrown once the lock is held. There are no spurious
// wake-ups, but another greenlet can change the condition before the woken one runs: use the
// predicate forms. The lock must be held by the calling greenlet (grove::UsageError otherwise).
//
// grove::CondVar belongs to one hub. grove::mt::CondVar works between greenlets of different
// hubs and plain threads; no notify is lost between a waiter releasing the mutex and parking (it
// is on the wait list before it releases the mutex). Use it with a grove::mt::Mutex.
#pragma once

#include <concepts>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "detail/waiters.hpp"
#include "mutex.hpp"
#include "time.hpp"

namespace grove {

class CondVar {
 public:
  CondVar() noexcept : lock_(false) { waiters_.set_owner_name("grove::CondVar"); }
  // Internal: the grove::mt constructor.
  explicit CondVar(detail::SharedTag) noexcept : lock_(true) {
    waiters_.set_owner_name("grove::mt::CondVar");
    waiters_.set_shared();
  }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void notify_one() noexcept;
  void notify_all() noexcept;

  // M is grove::Mutex or grove::mt::Mutex.
  template <std::derived_from<Mutex> M>
  void wait(std::unique_lock<M>& lock) {
    wait_until(lock.mutex(), lock.owns_lock(), detail::kNever);
  }
  template <std::derived_from<Mutex> M, class Pred>
  void wait(std::unique_lock<M>& lock, Pred pred) {
    while (!pred()) wait(lock);
  }

  // std::cv_status::timeout if `timeout` passed before a notify.
  template <std::derived_from<Mutex> M>
  std::cv_status wait_for(std::unique_lock<M>& lock, Duration timeout) {
    return wait_until(lock.mutex(), lock.owns_lock(), detail::deadline_after(timeout)) ? std::cv_status::no_timeout
                                                                                       : std::cv_status::timeout;
  }
  // The predicate's last value: false means it still did not hold when `timeout` passed.
  template <std::derived_from<Mutex> M, class Pred>
  bool wait_for(std::unique_lock<M>& lock, Duration timeout, Pred pred) {
    const std::int64_t deadline = detail::deadline_after(timeout);
    while (!pred())
      if (!wait_until(lock.mutex(), lock.owns_lock(), deadline)) return pred();
    return true;
  }

  std::size_t waiting() const noexcept;

 private:
  bool wait_until(Mutex* m, bool owns, std::int64_t deadline_ns);
  template <bool Shared>
  void notify_impl(bool all) noexcept;

  mutable detail::PrimitiveLock lock_;
  detail::Waiters waiters_;
};

namespace mt {

// grove::CondVar for greenlets of several hubs and plain threads.
class CondVar : public grove::CondVar {
 public:
  CondVar() noexcept : grove::CondVar(detail::shared) {}
};

}  // namespace mt

}  // namespace grove

// condvar.hpp — grove::CondVar: wait for a condition under a grove::Mutex.
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
#pragma once

#include <condition_variable>
#include <mutex>
#include <utility>

#include "detail/waiters.hpp"
#include "mutex.hpp"
#include "time.hpp"

namespace grove {

class CondVar {
 public:
  CondVar() noexcept { waiters_.set_owner_name("grove::CondVar"); }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void notify_one() noexcept;
  void notify_all() noexcept;

  void wait(std::unique_lock<Mutex>& lock) { wait_until(lock, detail::kNever); }
  template <class Pred>
  void wait(std::unique_lock<Mutex>& lock, Pred pred) {
    while (!pred()) wait(lock);
  }

  // std::cv_status::timeout if `timeout` passed before a notify.
  std::cv_status wait_for(std::unique_lock<Mutex>& lock, Duration timeout) {
    return wait_until(lock, detail::deadline_after(timeout)) ? std::cv_status::no_timeout : std::cv_status::timeout;
  }
  // The predicate's last value: false means it still did not hold when `timeout` passed.
  template <class Pred>
  bool wait_for(std::unique_lock<Mutex>& lock, Duration timeout, Pred pred) {
    const std::int64_t deadline = detail::deadline_after(timeout);
    while (!pred())
      if (!wait_until(lock, deadline)) return pred();
    return true;
  }

  std::size_t waiting() const noexcept { return waiters_.size(); }

 private:
  bool wait_until(std::unique_lock<Mutex>& lock, std::int64_t deadline_ns);

  detail::Waiters waiters_;
};

}  // namespace grove

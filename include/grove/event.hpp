// event.hpp — grove::Event, a flag greenlets can wait for.
//
//   grove::Event ready;
//   grove::spawn([&] { load(); ready.set(); });
//   ready.wait();                       // parks until set()
//   if (!ready.wait(50ms)) give_up();   // false if 50 ms pass first
//
// set() wakes every waiter, in the order they started waiting; a waiter woken by set() returns
// true even if clear() is called before it runs (the set it was woken for happened). Waits honour
// kill() (GreenletExit) and grove::Timeout scopes (TimeoutError). An Event must outlive its
// waiters.
#pragma once

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

class Event {
 public:
  Event() noexcept { waiters_.set_owner_name("grove::Event"); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Sets the flag and wakes all waiters. Never blocks.
  void set() noexcept;
  void clear() noexcept { set_ = false; }
  bool is_set() const noexcept { return set_; }

  // Returns at once if set; otherwise parks until set(). Always returns true.
  bool wait();
  // false if `timeout` passed before set().
  bool wait(Duration timeout);
  // Number of greenlets waiting.
  std::size_t waiting() const noexcept { return waiters_.size(); }

 private:
  bool wait_until(std::int64_t deadline_ns);

  bool set_ = false;
  detail::Waiters waiters_;
};

}  // namespace grove

// event.hpp — grove::Event, a flag greenlets can wait for; grove::mt::Event, the same between hubs.
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
//
// grove::Event belongs to one hub (the first to wait on or set it); grove::mt::Event works
// between greenlets of different hubs and plain threads, with the same guarantees. A plain thread
// may set() without ever getting a hub; one that waits gets a hub of its own for the wait.
#pragma once

#include <atomic>
#include <mutex>

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

class Event {
 public:
  Event() noexcept : lock_(false) { waiters_.set_owner_name("grove::Event"); }
  // Internal: the grove::mt constructor.
  explicit Event(detail::SharedTag) noexcept : lock_(true) {
    waiters_.set_owner_name("grove::mt::Event");
    waiters_.set_shared();
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Sets the flag and wakes all waiters. Never blocks.
  void set() noexcept;
  void clear() noexcept {
    if (!lock_.shared()) [[likely]]
      set_.store(false, std::memory_order_relaxed);
    else
      clear_shared();
  }
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }

  // Returns at once if set; otherwise parks until set(). Always returns true.
  bool wait();
  // false if `timeout` passed before set().
  bool wait(Duration timeout);
  // Number of greenlets waiting.
  std::size_t waiting() const noexcept;

 private:
  bool wait_until(std::int64_t deadline_ns);
  void clear_shared() noexcept;
  template <bool Shared>
  void set_impl() noexcept;
  template <bool Shared>
  bool wait_impl(std::int64_t deadline_ns);

  mutable detail::PrimitiveLock lock_;
  std::atomic<bool> set_{false};
  detail::Waiters waiters_;
};

namespace mt {

// grove::Event for greenlets of several hubs and plain threads.
class Event : public grove::Event {
 public:
  Event() noexcept : grove::Event(detail::shared) {}
};

}  // namespace mt

}  // namespace grove

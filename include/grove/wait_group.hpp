// wait_group.hpp — grove::WaitGroup: wait for a counted set of tasks (Go's sync.WaitGroup).
//
//   grove::WaitGroup wg;
//   for (auto& job : jobs) { wg.add(); grove::spawn([&, job] { run(job); wg.done(); }); }
//   wg.wait();
//
// wait() returns once the counter is zero. Waiters woken by the counter reaching zero return
// even if add() raises it again before they run. A negative counter is a grove::UsageError.
// wait() honours kill() and grove::Timeout scopes; wait(timeout) returns false when it passes.
//
// grove::WaitGroup belongs to one hub; grove::mt::WaitGroup counts tasks of several hubs and
// plain threads (done() from a plain thread needs no hub).
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

class WaitGroup {
 public:
  WaitGroup() noexcept : lock_(false) { waiters_.set_owner_name("grove::WaitGroup"); }
  // Internal: the grove::mt constructor.
  explicit WaitGroup(detail::SharedTag) noexcept : lock_(true) {
    waiters_.set_owner_name("grove::mt::WaitGroup");
    waiters_.set_shared();
  }
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  void add(std::size_t n = 1) noexcept {
    std::lock_guard lock(lock_);
    count_.store(count_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // One task is done; at zero, every waiter wakes.
  void done();
  std::size_t count() const noexcept { return count_.load(std::memory_order_acquire); }

  void wait();
  bool wait(Duration timeout);

 private:
  bool wait_until(std::int64_t deadline_ns);
  template <bool Shared>
  void done_impl();
  template <bool Shared>
  bool wait_impl(std::int64_t deadline_ns);

  detail::PrimitiveLock lock_;
  std::atomic<std::size_t> count_{0};
  detail::Waiters waiters_;
};

namespace mt {

// grove::WaitGroup for tasks on several hubs and plain threads.
class WaitGroup : public grove::WaitGroup {
 public:
  WaitGroup() noexcept : grove::WaitGroup(detail::shared) {}
};

}  // namespace mt

}  // namespace grove

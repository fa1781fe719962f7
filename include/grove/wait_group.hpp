// wait_group.hpp — grove::WaitGroup: wait for a counted set of tasks (Go's sync.WaitGroup).
//
//   grove::WaitGroup wg;
//   for (auto& job : jobs) { wg.add(); grove::spawn([&, job] { run(job); wg.done(); }); }
//   wg.wait();
//
// wait() returns once the counter is zero. Waiters woken by the counter reaching zero return
// even if add() raises it again before they run. A negative counter is a grove::UsageError.
// wait() honours kill() and grove::Timeout scopes; wait(timeout) returns false when it passes.
#pragma once

#include <cstddef>

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

class WaitGroup {
 public:
  WaitGroup() noexcept { waiters_.set_owner_name("grove::WaitGroup"); }
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  void add(std::size_t n = 1) noexcept { count_ += n; }
  // One task is done; at zero, every waiter wakes.
  void done();
  std::size_t count() const noexcept { return count_; }

  void wait();
  bool wait(Duration timeout);

 private:
  bool wait_until(std::int64_t deadline_ns);

  std::size_t count_ = 0;
  detail::Waiters waiters_;
};

}  // namespace grove

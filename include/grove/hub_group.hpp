// hub_group.hpp — grove::HubGroup: several OS threads, each with its own hub.
//
//   grove::HubGroup hubs(2);                                  // two threads, a hub each
//   grove::mt::Queue<Job> jobs(1000);                         // shared between them
//   auto g = hubs.spawn_on(1, [&] { for (Job& j : jobs) run(j); return 42; });
//   jobs.put(job); jobs.close();
//   int n = g.get();                                          // from main, another hub
//
// Greenlets never migrate: one spawned on hub i runs on hub i's thread until it ends, so
// thread-locals, the interposer's per-thread state and the fds it waits on (which belong to the
// hub that first waits on them) stay where they are. What crosses hubs: Greenlet handles (get,
// join, kill from anywhere), the grove::mt primitives, and Hub-to-Hub wake-ups through each
// hub's inbox (a system call only when the target hub is asleep). What does not: grove:: (non-mt)
// primitives, and waiting on one fd from two hubs.
//
// Lifetime. The threads start in the constructor. stop() asks every hub to end: each kills the
// greenlets still alive on it (GreenletExit where they are parked; a greenlet spawned but not
// started never runs), waits until they have finished, and lets its thread exit; stop() itself
// returns at once, and spawn_on throws grove::UsageError from then on. join() waits until the
// threads have exited — which they do only after stop() — cooperatively when called from a
// greenlet (of another hub) and blocking a plain thread. The destructor calls stop() and
// join(). join() and the destructor must not run on one of the group's own threads.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "greenlet.hpp"

namespace grove {

struct HubGroupOptions {
  // Pin hub i's thread to CPU cpus[i % cpus.size()] (sched_setaffinity); empty: no pinning.
  std::vector<int> cpus{};
  // Threads are named "<name><i>" (the kernel keeps 15 characters).
  std::string name = "grove-hub-";
};

namespace detail {
class HubGroupState;
GreenletCore* group_create(HubGroupState& s, std::size_t i, std::size_t body_size, std::size_t body_align,
                           SpawnOptions&& opts);
void group_start(HubGroupState& s, std::size_t i, GreenletCore* g);
}  // namespace detail

class HubGroup {
 public:
  // Starts n >= 1 threads with a hub each. Throws std::system_error if a thread cannot start
  // (the ones started are stopped and joined first).
  explicit HubGroup(std::size_t n, HubGroupOptions options = {});
  ~HubGroup();
  HubGroup(const HubGroup&) = delete;
  HubGroup& operator=(const HubGroup&) = delete;

  std::size_t size() const noexcept;

  // Starts f(args...) in a new greenlet on hub i (0 <= i < size()); callable from any thread.
  // Arguments are copied or moved into the greenlet here, as with std::thread. Throws
  // grove::UsageError for a bad index or after stop().
  template <class F, class... A>
    requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
  auto spawn_on(std::size_t i, SpawnOptions opts, F&& f, A&&... args) {
    using B = detail::SpawnBody<F, A...>;
    detail::GreenletCore* g = detail::group_create(*state_, i, sizeof(B), alignof(B), std::move(opts));
    auto handle = detail::build(g, std::forward<F>(f), std::forward<A>(args)...);
    detail::group_start(*state_, i, g);
    return handle;
  }
  template <class F, class... A>
    requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
  auto spawn_on(std::size_t i, F&& f, A&&... args) {
    return spawn_on(i, SpawnOptions{}, std::forward<F>(f), std::forward<A>(args)...);
  }

  // The index of the calling thread's hub in this group, if it is one of them.
  std::optional<std::size_t> current_index() const noexcept;

  // Ends every hub's greenlets and then its thread; returns at once. Idempotent.
  void stop() noexcept;
  bool stopped() const noexcept;
  // Waits until every thread has exited (after stop()). Idempotent.
  void join();

 private:
  std::unique_ptr<detail::HubGroupState> state_;
};

}  // namespace grove

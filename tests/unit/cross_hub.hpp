// cross_hub.hpp — helpers for tests with greenlets on several hubs (HubGroup) and plain threads.
//
// Ordering between threads is made with flags and spins, never with sleeps: spin_until busy-waits
// (bounded, and the caller fails the test when the bound passes), yield_until lets the caller's
// hub take turns meanwhile. claimed() and ready_not_run() look inside a greenlet of the calling
// thread's own hub, to set up "a wake-up has been decided but the greenlet has not run yet".
#pragma once

#include <grove/grove.hpp>

#include <atomic>
#include <chrono>
#include <type_traits>

#include "greenlet.hpp"
#include "waiter.hpp"

namespace cross_hub {

using namespace std::chrono_literals;

// Busy-waits until pred() holds; false after `bound` (the caller reports the failure).
template <class P>
bool spin_until(P pred, std::chrono::steady_clock::duration bound = 10s) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (!pred())
    if (std::chrono::steady_clock::now() > end) return false;
  return true;
}

// Yields to the caller's hub until pred() holds; false after `bound`.
template <class P>
bool yield_until(P pred, std::chrono::steady_clock::duration bound = 10s) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    grove::yield();
  }
  return true;
}

// g (of the calling thread's hub) has had its current park ended by some waker, with this cause.
inline grove::detail::Wake park_cause(const grove::AnyGreenlet& g) {
  return grove::detail::park_cause(g.core());
}

// g (of the calling thread's hub) has been made ready and has not run since.
inline bool ready_not_run(const grove::AnyGreenlet& g) { return g.core()->state == grove::detail::State::ready; }

// A flag one thread raises and another spins on.
struct Flag {
  std::atomic<bool> v{false};
  void raise() { v.store(true, std::memory_order_release); }
  bool up() const { return v.load(std::memory_order_acquire); }
  bool wait(std::chrono::steady_clock::duration bound = 10s) const {
    return spin_until([this] { return up(); }, bound);
  }
};

}  // namespace cross_hub

namespace cross_hub {

// The races of the issue: a waiter W on hub 0 is interrupted (its own timeout, or a kill from its
// hub or from another thread) and woken by a waker on hub 1 — in both orders, each made certain:
// a helper greenlet X on hub 0 keeps the hub busy (it never parks) while the other side acts, so
// the first event has been decided (W's park claimed) before the second one is attempted, and W
// has not run yet when the second arrives — the narrowest window, where a lost or doubled
// hand-over would show.
enum class First { interruption, wake };
enum class KillFrom { same_hub, other_thread };

// W runs wait() (a blocking call with a short timeout, say 5 ms) on hub 0 and returns what it
// returned; wake() runs on hub 1; waiting() says W is parked (the primitive's waiting count).
// X starts W itself and runs again as soon as W parks: were they started one by one from this
// thread, hub 0 could sleep between them and W's short deadline pass before X holds the hub.
template <class Wait, class WakeFn, class Waiting>
auto race_timeout(grove::HubGroup& hubs, First first, Wait wait, WakeFn wake, Waiting waiting) {
  Flag go, woken;
  grove::Greenlet<std::invoke_result_t<Wait&>> w;
  auto x = hubs.spawn_on(0, [&] {
    w = grove::spawn(wait);
    grove::yield();  // W runs until it parks
    EXPECT_TRUE(yield_until(waiting));
    const auto t0 = std::chrono::steady_clock::now();
    auto deadline_passed = [&] { return std::chrono::steady_clock::now() - t0 > 20ms; };
    if (first == First::interruption) {
      spin_until(deadline_passed);  // hub 0 is busy: the timer is due but has not fired
      EXPECT_TRUE(yield_until([&] { return park_cause(w) != grove::detail::Wake::none; }));
      EXPECT_EQ(park_cause(w), grove::detail::Wake::deadline);
      EXPECT_TRUE(ready_not_run(w));
      go.raise();
      EXPECT_TRUE(woken.wait());  // the wake-up from hub 1 finds W's park taken
    } else {
      go.raise();
      EXPECT_TRUE(woken.wait());
      EXPECT_EQ(park_cause(w), grove::detail::Wake::unparked);
      spin_until(deadline_passed);  // W's deadline is due too when the hub next looks
      EXPECT_TRUE(yield_until([&] { return ready_not_run(w); }));
    }
  });
  auto p = hubs.spawn_on(1, [&] {
    EXPECT_TRUE(go.wait());
    wake();
    woken.raise();
  });
  x.get();
  p.get();
  return w.get();
}

// W runs wait() (no timeout) on hub 0, storing what it got in the caller's variables, then
// parks again in sleep(1h), where a kill that lost the race is delivered. Returns W's handle,
// finished (killed).
template <class Wait, class WakeFn, class Waiting>
grove::Greenlet<void> race_kill(grove::HubGroup& hubs, First first, KillFrom from, Wait wait, WakeFn wake,
                                Waiting waiting) {
  Flag go, woken, kill_now, kill_sent;
  auto w = hubs.spawn_on(0, [wait] {
    wait();
    grove::sleep(1h);  // the kill is raised here if the wake-up came first
  });
  auto x = hubs.spawn_on(0, [&] {
    EXPECT_TRUE(spin_until(waiting));
    if (first == First::interruption) {
      if (from == KillFrom::same_hub) {
        w.kill_nowait();
      } else {
        kill_now.raise();  // main sends the kill; hub 0 handles it at its next turn
        EXPECT_TRUE(kill_sent.wait());
        EXPECT_TRUE(yield_until([&] { return park_cause(w) != grove::detail::Wake::none; }));
      }
      EXPECT_EQ(park_cause(w), grove::detail::Wake::killed);
      EXPECT_TRUE(ready_not_run(w));
      go.raise();
      EXPECT_TRUE(woken.wait());  // hub 1's wake-up finds W's park taken
    } else {
      go.raise();
      EXPECT_TRUE(woken.wait());  // hub 1 woke W (and, for other_thread, sent the kill after)
      EXPECT_EQ(park_cause(w), grove::detail::Wake::unparked);
      if (from == KillFrom::same_hub) w.kill_nowait();  // W is not parked any more: kept for later
      EXPECT_TRUE(yield_until([&] { return ready_not_run(w); }));
    }
  });
  auto p = hubs.spawn_on(1, [&] {
    EXPECT_TRUE(go.wait());
    wake();
    if (first == First::wake && from == KillFrom::other_thread) w.kill_nowait();
    woken.raise();
  });
  if (first == First::interruption && from == KillFrom::other_thread) {
    EXPECT_TRUE(kill_now.wait());
    w.kill_nowait();
    kill_sent.raise();
  }
  x.get();
  p.get();
  EXPECT_TRUE(w.join(10s));
  EXPECT_TRUE(w.killed());
  return w;
}

}  // namespace cross_hub

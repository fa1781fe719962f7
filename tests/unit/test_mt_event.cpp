// grove::mt::Event and grove::mt::AsyncResult between hubs and plain threads: every waiter wakes,
// set() from a thread without a hub, Timeout and kill racing a cross-hub set() in both orders.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cross_hub.hpp"

using namespace std::chrono_literals;
using namespace cross_hub;

TEST(MtEvent, SetWakesWaitersOnEveryHubAndThread) {
  grove::HubGroup hubs(2);
  grove::mt::Event ev;
  std::atomic<int> woke{0};
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 8; ++i) gs.push_back(hubs.spawn_on(static_cast<std::size_t>(i % 2), [&] { woke += ev.wait(); }));
  std::thread plain([&] { woke += ev.wait(); });
  ASSERT_TRUE(spin_until([&] { return ev.waiting() == 9; }));
  std::thread([&] { ev.set(); }).join();  // a thread that never used grove: needs no hub
  for (auto& g : gs) g.get();
  plain.join();
  EXPECT_EQ(woke, 9);
  EXPECT_TRUE(ev.is_set());
  EXPECT_TRUE(ev.wait(0ms)) << "set: returns at once";
}

TEST(MtEvent, WaitWithTimeoutOnAnotherHub) {
  grove::HubGroup hubs(1);
  grove::mt::Event ev;
  EXPECT_FALSE(hubs.spawn_on(0, [&] { return ev.wait(10ms); }).get());
  EXPECT_EQ(ev.waiting(), 0u);
}

TEST(MtEvent, TimeoutThenCrossHubSetReturnsFalse) {
  grove::HubGroup hubs(2);
  grove::mt::Event ev;
  const bool got = race_timeout(
      hubs, First::interruption, [&] { return ev.wait(5ms); }, [&] { ev.set(); }, [&] { return ev.waiting() == 1; });
  EXPECT_FALSE(got);
  EXPECT_TRUE(ev.is_set());
}

TEST(MtEvent, CrossHubSetThenTimeoutReturnsTrue) {
  grove::HubGroup hubs(2);
  grove::mt::Event ev;
  const bool got = race_timeout(
      hubs, First::wake, [&] { return ev.wait(5ms); },
      [&] {
        ev.set();
        ev.clear();  // the set it was woken for happened: true even if cleared since
      },
      [&] { return ev.waiting() == 1; });
  EXPECT_TRUE(got);
}

TEST(MtEvent, KillAndCrossHubSetInBothOrders) {
  for (KillFrom from : {KillFrom::same_hub, KillFrom::other_thread}) {
    for (First first : {First::interruption, First::wake}) {
      grove::HubGroup hubs(2);
      grove::mt::Event ev;
      std::atomic<bool> returned{false};
      race_kill(
          hubs, first, from, [&] { returned = ev.wait(); }, [&] { ev.set(); }, [&] { return ev.waiting() == 1; });
      EXPECT_EQ(returned, first == First::wake);
      EXPECT_EQ(ev.waiting(), 0u);
    }
  }
}

TEST(MtAsyncResult, SetOnOneHubGetOnOthersAndAPlainThread) {
  grove::HubGroup hubs(2);
  grove::mt::AsyncResult<std::string> r;
  auto g0 = hubs.spawn_on(0, [&] { return r.get(); });
  std::string plain_got;
  std::thread plain([&] { plain_got = r.get(); });
  hubs.spawn_on(1, [&] { r.set("hello"); }).get();
  EXPECT_EQ(g0.get(), "hello");
  plain.join();
  EXPECT_EQ(plain_got, "hello");
  EXPECT_THROW(r.set("again"), grove::UsageError);
}

TEST(MtAsyncResult, ExceptionCrossesHubs) {
  grove::HubGroup hubs(2);
  grove::mt::AsyncResult<int> r;
  hubs.spawn_on(0, [&] { r.set_exception(std::make_exception_ptr(std::runtime_error("boom"))); }).get();
  EXPECT_THROW(hubs.spawn_on(1, [&] { return r.get(); }).get(), std::runtime_error);
  EXPECT_FALSE(r.successful());
}

TEST(MtAsyncResult, ConcurrentSettersOnlyOneWins) {
  grove::HubGroup hubs(2);
  for (int round = 0; round < 200; ++round) {
    grove::mt::AsyncResult<int> r;
    std::atomic<int> refused{0};
    auto set = [&](int v) {
      try {
        r.set(v);
      } catch (const grove::UsageError&) {
        ++refused;
      }
    };
    auto a = hubs.spawn_on(0, set, 1);
    auto b = hubs.spawn_on(1, set, 2);
    a.get();
    b.get();
    EXPECT_EQ(refused, 1);
    const int v = r.get();
    EXPECT_TRUE(v == 1 || v == 2);
  }
}

TEST(MtAsyncResult, GetWithTimeoutRacingASetFromAnotherHub) {
  grove::HubGroup hubs(2);
  for (First first : {First::interruption, First::wake}) {
    grove::mt::AsyncResult<int> r;
    const int got = race_timeout(
        hubs, first,
        [&] {
          try {
            return r.get(5ms);
          } catch (const grove::TimeoutError&) {
            return -1;
          }
        },
        [&] { r.set(3); }, [&] { return r.waiting() == 1; });
    EXPECT_EQ(got, first == First::interruption ? -1 : 3);
  }
}

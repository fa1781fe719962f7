// HubGroup: threads and hubs, spawn_on, cross-hub get/join/kill of greenlets (from hubs and plain
// threads), pinning, shutdown with greenlets still parked, and what a wake-up costs the target.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <sched.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cross_hub.hpp"
#include "hub.hpp"

using namespace std::chrono_literals;
using cross_hub::First;
using cross_hub::Flag;
using cross_hub::race_timeout;
using cross_hub::spin_until;
using cross_hub::yield_until;

namespace {

std::thread::id this_id() { return std::this_thread::get_id(); }

struct Tracked {  // counts live instances: RAII ran when a greenlet unwound
  static inline std::atomic<int> alive{0};
  Tracked() { ++alive; }
  ~Tracked() { --alive; }
};

}  // namespace

TEST(HubGroup, EachHubIsItsOwnThreadAndGreenletsStayOnIt) {
  grove::HubGroup hubs(2);
  EXPECT_EQ(hubs.size(), 2u);
  std::vector<grove::Greenlet<std::pair<std::thread::id, std::thread::id>>> gs;
  for (std::size_t i = 0; i < 20; ++i)
    gs.push_back(hubs.spawn_on(i % 2, [] {
      const auto before = this_id();
      grove::sleep(1ms);  // parks and resumes: still the same thread
      return std::pair{before, this_id()};
    }));
  std::set<std::thread::id> threads[2];
  for (std::size_t i = 0; i < gs.size(); ++i) {
    auto [before, after] = gs[i].get();
    EXPECT_EQ(before, after) << "a greenlet moved between threads";
    threads[i % 2].insert(before);
  }
  ASSERT_EQ(threads[0].size(), 1u);
  ASSERT_EQ(threads[1].size(), 1u);
  EXPECT_NE(*threads[0].begin(), *threads[1].begin());
  EXPECT_EQ(threads[0].count(this_id()), 0u);
}

TEST(HubGroup, CurrentIndexNamesTheHub) {
  grove::HubGroup hubs(2);
  EXPECT_FALSE(hubs.current_index());
  EXPECT_EQ(hubs.spawn_on(1, [&] { return hubs.current_index(); }).get(), std::optional<std::size_t>(1));
  EXPECT_EQ(hubs.spawn_on(0, [&] { return hubs.current_index(); }).get(), std::optional<std::size_t>(0));
}

TEST(HubGroup, BadIndexAndSpawnAfterStopAreUsageErrors) {
  grove::HubGroup hubs(1);
  EXPECT_THROW(hubs.spawn_on(1, [] {}), grove::UsageError);
  hubs.stop();
  EXPECT_TRUE(hubs.stopped());
  EXPECT_THROW(hubs.spawn_on(0, [] {}), grove::UsageError);
  hubs.join();
  hubs.join();  // idempotent
  EXPECT_THROW(grove::HubGroup(0), grove::UsageError);
}

TEST(HubGroup, PinnedThreadsRunOnTheirCpu) {
  const unsigned ncpu = std::thread::hardware_concurrency();
  if (ncpu < 2) GTEST_SKIP() << "one CPU";
  grove::HubGroup hubs(2, grove::HubGroupOptions{.cpus = {1, 0}});
  EXPECT_EQ(hubs.spawn_on(0, [] { return ::sched_getcpu(); }).get(), 1);
  EXPECT_EQ(hubs.spawn_on(1, [] { return ::sched_getcpu(); }).get(), 0);
}

TEST(HubGroup, GetRethrowsAcrossHubs) {
  grove::HubGroup hubs(2);
  auto g = hubs.spawn_on(0, []() -> int { throw std::runtime_error("from hub 0"); });
  // From another hub of the group, and from main.
  auto via = hubs.spawn_on(1, [&] {
    try {
      g.get();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  });
  EXPECT_EQ(via.get(), "from hub 0");
  EXPECT_THROW(g.get(), std::runtime_error);
  EXPECT_TRUE(g.ready());
  EXPECT_FALSE(g.successful());
}

TEST(HubGroup, JoinWithTimeoutAcrossHubs) {
  grove::HubGroup hubs(1);
  grove::mt::Event release;
  auto g = hubs.spawn_on(0, [&] { release.wait(); });
  EXPECT_FALSE(g.join(20ms));
  EXPECT_FALSE(g.ready());
  release.set();
  EXPECT_TRUE(g.join(10s));
  EXPECT_TRUE(g.ready());
}

TEST(HubGroup, JoinAndGetFromAPlainThread) {
  grove::HubGroup hubs(1);
  grove::mt::Event release;
  auto g = hubs.spawn_on(0, [&] {
    release.wait();
    return 7;
  });
  int got = 0;
  std::atomic<bool> timed_out_first{false};
  std::thread plain([&] {
    timed_out_first = !g.join(10ms);
    got = g.get();  // a hub is made for this thread to wait in
  });
  ASSERT_TRUE(spin_until([&] { return timed_out_first.load(); }));
  release.set();  // main, no greenlet of its own involved
  plain.join();
  EXPECT_EQ(got, 7);
}

TEST(HubGroup, KillFromAnotherHubRaisesWhereTheGreenletIsParked) {
  grove::HubGroup hubs(2);
  std::atomic<bool> unwound{false};
  Flag parked;
  auto victim = hubs.spawn_on(0, [&] {
    Tracked t;
    try {
      parked.raise();
      grove::sleep(1h);
    } catch (const grove::GreenletExit&) {
      unwound = true;
      throw;
    }
  });
  ASSERT_TRUE(parked.wait());
  hubs.spawn_on(1, [&] { victim.kill(); }).get();  // waits for the victim's end
  EXPECT_TRUE(victim.ready());
  EXPECT_TRUE(victim.killed());
  EXPECT_TRUE(unwound);
  EXPECT_EQ(Tracked::alive, 0);
}

TEST(HubGroup, KillFromAPlainThreadWithoutAHub) {
  grove::HubGroup hubs(1);
  Flag parked;
  auto victim = hubs.spawn_on(0, [&] {
    parked.raise();
    grove::sleep(1h);
  });
  ASSERT_TRUE(parked.wait());
  std::thread([&] { victim.kill_nowait(); }).join();  // needs no hub: one message to hub 0
  EXPECT_TRUE(victim.join(10s));
  EXPECT_TRUE(victim.killed());
}

TEST(HubGroup, KilledBeforeItStartsNeverRuns) {
  grove::HubGroup hubs(1);
  Flag busy, release;
  // Keep hub 0 busy without yielding, so the new greenlet cannot start before the kill.
  auto blocker = hubs.spawn_on(0, [&] {
    busy.raise();
    release.wait();
  });
  ASSERT_TRUE(busy.wait());
  std::atomic<bool> ran{false};
  auto g = hubs.spawn_on(0, [&] { ran = true; });
  g.kill_nowait();
  release.raise();
  EXPECT_TRUE(g.join(10s));
  blocker.join();
  EXPECT_FALSE(ran);
  EXPECT_TRUE(g.killed());
}

TEST(HubGroup, ManyJoinersOnSeveralHubsAndThreadsAllWake) {
  grove::HubGroup hubs(2);
  grove::mt::Event release;
  auto target = hubs.spawn_on(0, [&] {
    release.wait();
    return 5;
  });
  std::vector<grove::Greenlet<int>> joiners;
  for (int i = 0; i < 10; ++i) joiners.push_back(hubs.spawn_on(static_cast<std::size_t>(i % 2), [&] { return target.get(); }));
  std::atomic<int> plain_sum{0};
  std::vector<std::thread> plain;
  for (int i = 0; i < 3; ++i) plain.emplace_back([&] { plain_sum += target.get(); });
  release.set();
  int sum = 0;
  for (auto& j : joiners) sum += j.get();
  for (auto& t : plain) t.join();
  EXPECT_EQ(sum, 50);
  EXPECT_EQ(plain_sum, 15);
}

TEST(HubGroup, WaitAnyAcrossHubs) {
  grove::HubGroup hubs(2);
  grove::mt::Event first, second;
  std::vector<grove::Greenlet<int>> gs;
  gs.push_back(hubs.spawn_on(0, [&] {
    first.wait();
    return 0;
  }));
  gs.push_back(hubs.spawn_on(1, [&] {
    second.wait();
    return 1;
  }));
  EXPECT_FALSE(grove::wait_any(gs, 10ms));
  second.set();
  EXPECT_EQ(grove::wait_any(gs, 10s), std::optional<std::size_t>(1));
  first.set();
  grove::joinall(gs);
}

// A greenlet of the joining hub is killed while it waits for a greenlet of another hub: the kill
// wins the race with the target finishing, or the finish wins — never both, never neither.
TEST(HubGroup, KillRacingACrossHubJoinEndsTheJoinExactlyOnce) {
  grove::HubGroup hubs(2);
  for (int round = 0; round < 200; ++round) {
    grove::mt::Event go;
    auto target = hubs.spawn_on(0, [&] { go.wait(); });
    std::atomic<int> outcomes{0};
    auto joiner = hubs.spawn_on(1, [&] {
      try {
        target.join();
        ++outcomes;  // joined
      } catch (const grove::GreenletExit&) {
        ++outcomes;  // killed
        throw;
      }
    });
    ASSERT_TRUE(spin_until([&] { return target.core()->join_state.load() & grove::detail::kJoinRemoteWaiters; }));
    go.set();           // the target finishes on hub 0 ...
    joiner.kill_nowait();  // ... while hub 1's joiner is killed from main
    EXPECT_TRUE(joiner.join(10s));
    EXPECT_TRUE(target.join(10s));
    EXPECT_EQ(outcomes, 1);
  }
}

// join(timeout) on hub 0 of a greenlet of hub 1: its own deadline and the target finishing, in
// both orders (cross_hub.hpp). join answers whether the target is done, and by the time W runs it
// is, whichever came first; what the race must not do is lose W, wake it twice or leave its node
// in the target's joiner list (ASan and the next join would see that).
TEST(HubGroup, JoinTimeoutAndTheTargetFinishingInBothOrders) {
  for (First first : {First::interruption, First::wake}) {
    grove::HubGroup hubs(2);
    grove::mt::Event finish;
    auto target = hubs.spawn_on(1, [&] { finish.wait(); });
    const bool joined = race_timeout(
        hubs, first, [&] { return target.join(5ms); },
        [&] {
          finish.set();
          target.join();  // on hub 1: returns once the target's end has woken every joiner
        },
        [&] { return target.core()->join_state.load() & grove::detail::kJoinRemoteWaiters; });
    EXPECT_TRUE(joined);
    EXPECT_TRUE(target.ready());
    EXPECT_TRUE(target.join(0ms));
  }
}

TEST(HubGroup, StopEndsParkedGreenletsOfEveryKindAndTheirRaiiRuns) {
  Tracked::alive = 0;
  std::vector<grove::Greenlet<void>> gs;
  grove::mt::Event never;
  grove::mt::Queue<int> empty;
  grove::mt::Semaphore none(0);
  {
    grove::HubGroup hubs(2);
    std::atomic<int> parked{0};
    for (std::size_t i = 0; i < 2; ++i) {
      gs.push_back(hubs.spawn_on(i, [&] { Tracked t; ++parked; grove::sleep(1h); }));
      gs.push_back(hubs.spawn_on(i, [&] { Tracked t; ++parked; never.wait(); }));
      gs.push_back(hubs.spawn_on(i, [&] { Tracked t; ++parked; empty.get(); }));
      gs.push_back(hubs.spawn_on(i, [&] { Tracked t; ++parked; none.acquire(); }));
      gs.push_back(hubs.spawn_on(i, [&] { Tracked t; ++parked; grove::Event local; local.wait(); }));
      gs.push_back(hubs.spawn_on(i, [&] {  // spawns more as it unwinds
        Tracked t;
        ++parked;
        struct SpawnOnExit {
          ~SpawnOnExit() { grove::spawn([] { grove::sleep(1h); }); }
        } s;
        grove::sleep(1h);
      }));
    }
    ASSERT_TRUE(spin_until([&] { return parked == 12 && never.waiting() == 2 && none.waiting() == 2 &&
                                        empty.getters_waiting() == 2; }));
  }  // ~HubGroup: stop() and join()
  for (auto& g : gs) {
    EXPECT_TRUE(g.ready());
    EXPECT_TRUE(g.killed());
  }
  EXPECT_EQ(Tracked::alive, 0);
  EXPECT_EQ(never.waiting(), 0u);
  EXPECT_EQ(none.waiting(), 0u);
}

TEST(HubGroup, JoinOnTheGroupsOwnThreadIsAUsageError) {
  grove::HubGroup hubs(1);
  auto g = hubs.spawn_on(0, [&] { hubs.join(); });
  EXPECT_THROW(g.get(), grove::UsageError);
}

TEST(HubGroup, SpawnOnFromAGreenletOfAnotherHubAndFromAPlainThread) {
  grove::HubGroup hubs(2);
  auto outer = hubs.spawn_on(0, [&] { return hubs.spawn_on(1, [&] { return hubs.current_index().value(); }).get(); });
  EXPECT_EQ(outer.get(), 1u);
  std::size_t from_plain = 9;
  std::thread([&] { from_plain = hubs.spawn_on(0, [&] { return hubs.current_index().value(); }).get(); }).join();
  EXPECT_EQ(from_plain, 0u);
}

// A wake-up sent to a hub that is running costs no system call; one sent to a sleeping hub
// writes its eventfd (once for a burst of messages that find it asleep).
TEST(HubGroup, AnInboxMessageWritesTheEventfdOnlyWhenTheHubSleeps) {
  grove::HubGroup hubs(1);
  grove::detail::Hub* hub = hubs.spawn_on(0, [] { return &grove::detail::Hub::get(); }).get();
  Flag busy, release;
  auto spinner = hubs.spawn_on(0, [&] {
    busy.raise();
    release.wait();  // busy: the hub does not sleep
  });
  ASSERT_TRUE(busy.wait());
  std::atomic<int> ran{0};
  const std::uint64_t before = hub->notifies();
  for (int i = 0; i < 100; ++i) hub->post([&ran] { ++ran; });
  EXPECT_EQ(hub->notifies(), before) << "a running hub was woken through its eventfd";
  release.raise();
  ASSERT_TRUE(spin_until([&] { return ran == 100; }));
  spinner.join();

  ASSERT_TRUE(spin_until([&] { return hub->asleep(); }));
  const std::uint64_t asleep_before = hub->notifies();
  hub->post([&ran] { ++ran; });
  ASSERT_TRUE(spin_until([&] { return ran == 101; })) << "a sleeping hub did not wake for its inbox";
  EXPECT_EQ(hub->notifies(), asleep_before + 1);
}

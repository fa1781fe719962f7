// Group and Pool: membership, size bound, blocking spawn, map/imap/imap_unordered, join, kill.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

TEST(Pool, NeverRunsMoreThanItsSize) {
  grove::Pool pool(5);
  int running = 0, max_running = 0, done = 0;
  for (int i = 0; i < 50; ++i)
    pool.spawn([&, i] {
      max_running = std::max(max_running, ++running);
      grove::sleep(std::chrono::microseconds(100 * (i % 7)));
      --running;
      ++done;
    });
  pool.join();
  EXPECT_EQ(max_running, 5);
  EXPECT_EQ(done, 50);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.free_count(), 5u);
}

TEST(Pool, SpawnParksWhileFullAndSpawnersAreServedFifo) {
  grove::Pool pool(2);
  grove::Event release;
  pool.spawn([&] { release.wait(); });
  pool.spawn([&] { release.wait(); });
  EXPECT_EQ(pool.free_count(), 0u);
  std::vector<int> order;
  std::vector<grove::Greenlet<void>> spawners;
  for (int i = 0; i < 3; ++i)
    spawners.push_back(grove::spawn([&, i] {
      pool.spawn([] {});
      order.push_back(i);
    }));
  grove::yield();
  EXPECT_TRUE(order.empty()) << "spawn must park while the pool is full";
  release.set();
  grove::joinall(spawners);
  pool.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(Pool, SizeZeroIsAUsageError) { EXPECT_THROW(grove::Pool(0), grove::UsageError); }

TEST(Pool, MemberKilledBeforeItRanGivesItsSlotBack) {
  grove::Pool pool(1);
  bool ran = false;
  auto g = pool.spawn([&] { ran = true; });
  EXPECT_EQ(pool.free_count(), 0u);
  g.kill();  // never started: never runs
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.free_count(), 1u);
  EXPECT_EQ(pool.size(), 0u);
}

TEST(Pool, FailingAndKilledMembersGiveTheirSlotsBack) {
  grove::Pool pool(2);
  auto a = pool.spawn([] { throw std::runtime_error("task failed"); });
  auto b = pool.spawn([] { grove::sleep(10s); });
  grove::yield();
  EXPECT_THROW(a.get(), std::runtime_error);
  b.kill();
  EXPECT_EQ(pool.free_count(), 2u);
}

TEST(Pool, WaitAvailable) {
  grove::Pool pool(1);
  grove::Event go;
  pool.spawn([&] { go.wait(); });
  EXPECT_EQ(pool.wait_available(10ms), 0u);
  auto g = grove::spawn([&] { go.set(); });
  EXPECT_EQ(pool.wait_available(), 1u);
  g.join();
}

TEST(Pool, MapReturnsResultsInInputOrder) {
  grove::Pool pool(4);
  std::vector<int> items(20);
  std::iota(items.begin(), items.end(), 0);
  auto out = pool.map(
      [](int x) {
        grove::sleep(std::chrono::microseconds(200 * (20 - x)));  // later items finish first
        return x * x;
      },
      items);
  ASSERT_EQ(out.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i * i);
}

TEST(Pool, ImapIsLazyAndOrdered) {
  grove::Pool pool(3);
  int calls = 0;
  std::vector<int> items{1, 2, 3, 4, 5, 6, 7};
  auto results = pool.imap(
      [&](int x) {
        ++calls;
        grove::sleep(std::chrono::milliseconds(8 - x));
        return x * 10;
      },
      items);
  grove::yield();
  EXPECT_EQ(calls, 0) << "nothing runs before iteration";
  std::vector<int> got;
  for (int v : results) got.push_back(v);
  EXPECT_EQ(got, (std::vector<int>{10, 20, 30, 40, 50, 60, 70}));
  EXPECT_EQ(calls, 7);
}

TEST(Pool, ImapUnorderedYieldsInCompletionOrder) {
  grove::Pool pool(4);
  std::vector<int> got;
  for (int v : pool.imap_unordered(
           [](int ms) {
             grove::sleep(std::chrono::milliseconds(ms));
             return ms;
           },
           std::vector<int>{40, 10, 30, 20}))
    got.push_back(v);
  EXPECT_EQ(got, (std::vector<int>{10, 20, 30, 40}));
}

TEST(Pool, MapRethrowsAndStopsTheOtherTasks) {
  grove::Pool pool(3);
  int killed = 0, finished = 0;
  std::vector<int> items{0, 1, 2, 3, 4, 5};
  try {
    pool.map(
        [&](int x) {
          if (x == 1) throw std::runtime_error("item 1 failed");
          try {
            grove::sleep(10s);
          } catch (const grove::GreenletExit&) {
            ++killed;
            throw;
          }
          ++finished;
          return x;
        },
        items);
    FAIL() << "map did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "item 1 failed");
  }
  EXPECT_EQ(finished, 0);
  EXPECT_GE(killed, 1);
  EXPECT_EQ(pool.size(), 0u) << "no task outlives map";
  EXPECT_EQ(pool.free_count(), 3u);
}

TEST(Pool, KillingTheMapperReapsItsTasks) {
  grove::Pool pool(2);
  int alive = 0;
  auto mapper = grove::spawn([&] {
    std::vector<int> items{1, 2, 3, 4};
    pool.map(
        [&](int x) {
          ++alive;
          try {
            grove::sleep(10s);
          } catch (...) {
            --alive;
            throw;
          }
          return x;
        },
        items);
  });
  for (int i = 0; i < 100 && alive < 2; ++i) grove::yield();
  EXPECT_EQ(alive, 2);
  mapper.kill();
  EXPECT_TRUE(mapper.killed());
  EXPECT_EQ(alive, 0);
  EXPECT_EQ(pool.size(), 0u);
}

TEST(Group, TracksMembersJoinAndKill) {
  grove::Group group;
  grove::Event go;
  int done = 0;
  for (int i = 0; i < 10; ++i) group.spawn([&] {
    go.wait();
    ++done;
  });
  EXPECT_EQ(group.size(), 10u);
  // The members run up to their wait, and none can finish: a join with a timeout says so.
  EXPECT_FALSE(group.join(0ms));
  EXPECT_FALSE(group.join(10ms));
  EXPECT_EQ(done, 0);
  EXPECT_EQ(group.size(), 10u);
  EXPECT_EQ(go.waiting(), 10u);
  go.set();
  group.join();
  EXPECT_EQ(done, 10);
  EXPECT_EQ(group.size(), 0u);
  EXPECT_TRUE(group.join(0ms));  // nothing left to wait for

  std::vector<grove::Greenlet<void>> sleepers;
  for (int i = 0; i < 5; ++i) sleepers.push_back(group.spawn([] { grove::sleep(10s); }));
  grove::yield();
  EXPECT_FALSE(group.join(10ms));
  auto t0 = grove::Clock::now();
  group.kill();
  EXPECT_LT(grove::Clock::now() - t0, 1s);
  EXPECT_EQ(group.size(), 0u);
  for (auto& g : sleepers) EXPECT_TRUE(g.killed());
}

TEST(Group, MapSpawnsEveryItem) {
  grove::Group group;
  int running = 0, max_running = 0;
  std::vector<int> items(100, 1);
  auto out = group.map(
      [&](int x) {
        max_running = std::max(max_running, ++running);
        grove::yield();
        --running;
        return x;
      },
      items);
  EXPECT_EQ(std::accumulate(out.begin(), out.end(), 0), 100);
  EXPECT_EQ(max_running, 100);
}

TEST(Group, MembersOutliveADestroyedGroup) {
  bool finished = false;
  grove::Greenlet<void> g;
  {
    grove::Group group;
    g = group.spawn([&] {
      grove::sleep(5ms);
      finished = true;
    });
  }
  g.join();
  EXPECT_TRUE(finished);
}

TEST(Group, KillFromAMemberKillsItLast) {
  grove::Group group;
  auto other = group.spawn([] { grove::sleep(10s); });
  auto killer = group.spawn([&] { group.kill(); });
  killer.join();
  EXPECT_TRUE(other.killed());
  EXPECT_TRUE(killer.killed());
  EXPECT_EQ(group.size(), 0u);
}

TEST(Pool, ImapUnorderedNoticesTasksKilledByOthersEvenBeforeTheyRan) {
  grove::Group group;  // unbounded: every item is spawned at once, most not yet started
  std::vector<int> items(50, 1);
  auto killer = grove::spawn([&] { group.kill(); });  // runs before any task does
  auto results = group.imap_unordered(
      [](int x) {
        grove::sleep(10s);
        return x;
      },
      items);
  EXPECT_THROW(
      {
        for (int v : results) (void)v;
      },
      std::runtime_error);
  killer.join();
  EXPECT_EQ(group.size(), 0u);
}

TEST(Pool, SpawnerKilledOrTimedOutWhileWaitingTakesNoSlot) {
  grove::Pool pool(1);
  grove::Event go;
  pool.spawn([&] { go.wait(); });
  bool spawned = false;
  auto spawner = grove::spawn([&] {
    pool.spawn([] {});
    spawned = true;
  });
  grove::yield();
  spawner.kill();
  EXPECT_FALSE(spawned);
  {
    grove::Timeout t(10ms);
    EXPECT_THROW(pool.spawn([] {}), grove::TimeoutError);
  }
  go.set();
  pool.join();
  EXPECT_EQ(pool.free_count(), 1u) << "the slot went back to the pool, not to a departed spawner";
  EXPECT_EQ(pool.size(), 0u);
}

TEST(Group, JoinFromAMemberIsAUsageError) {
  grove::Group group;
  auto g = group.spawn([&] { group.join(); });
  EXPECT_THROW(g.get(), grove::UsageError);
  EXPECT_EQ(group.size(), 0u);
}

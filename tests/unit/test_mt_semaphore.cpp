// grove::mt::Semaphore and BoundedSemaphore between hubs and plain threads: concurrency limit,
// FIFO hand-over across hubs, release from a thread without a hub, Timeout and kill racing a
// cross-hub release in both orders (a permit is never lost or counted twice).
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "cross_hub.hpp"

using namespace std::chrono_literals;
using namespace cross_hub;

TEST(MtSemaphore, LimitsConcurrencyAcrossHubsAndThreads) {
  grove::HubGroup hubs(2);
  grove::mt::Semaphore s(3);
  std::atomic<int> inside{0}, most{0};
  auto work = [&] {
    for (int i = 0; i < 200; ++i) {
      std::lock_guard hold(s);
      const int now = ++inside;
      int m = most.load();
      while (now > m && !most.compare_exchange_weak(m, now)) {
      }
      grove::yield();  // let others on this hub try meanwhile
      --inside;
    }
  };
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 10; ++i) gs.push_back(hubs.spawn_on(static_cast<std::size_t>(i % 2), work));
  std::thread plain(work);
  work();
  for (auto& g : gs) g.get();
  plain.join();
  EXPECT_LE(most, 3);
  EXPECT_EQ(s.available(), 3u);
}

TEST(MtSemaphore, PermitsGoToWaitersFifoAcrossHubs) {
  grove::HubGroup hubs(2);
  grove::mt::Semaphore s(0);
  std::mutex order_mu;
  std::vector<int> order;
  auto waiter = [&](int id) {
    s.acquire();
    std::lock_guard l(order_mu);
    order.push_back(id);
  };
  auto a = hubs.spawn_on(0, waiter, 0);
  ASSERT_TRUE(spin_until([&] { return s.waiting() == 1; }));
  auto b = hubs.spawn_on(1, waiter, 1);
  ASSERT_TRUE(spin_until([&] { return s.waiting() == 2; }));
  std::thread c(waiter, 2);
  ASSERT_TRUE(spin_until([&] { return s.waiting() == 3; }));
  EXPECT_FALSE(s.try_acquire()) << "no barging past waiters";
  auto recorded = [&](std::size_t n) {
    return spin_until([&] {
      std::lock_guard l(order_mu);
      return order.size() == n;
    });
  };
  // Each permit from a thread without a hub; the next only once the last one's owner has run.
  for (std::size_t i = 0; i < 3; ++i) {
    std::thread([&] { s.release(); }).join();
    ASSERT_TRUE(recorded(i + 1));
  }
  a.get();
  b.get();
  c.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(s.available(), 0u);
}

TEST(MtSemaphore, TimeoutThenCrossHubReleaseKeepsThePermit) {
  grove::HubGroup hubs(2);
  grove::mt::Semaphore s(0);
  const bool got = race_timeout(
      hubs, First::interruption, [&] { return s.acquire(5ms); }, [&] { s.release(); },
      [&] { return s.waiting() == 1; });
  EXPECT_FALSE(got);
  EXPECT_EQ(s.available(), 1u) << "the permit of a timed-out waiter was lost";
}

TEST(MtSemaphore, CrossHubReleaseThenTimeoutGivesThePermit) {
  grove::HubGroup hubs(2);
  grove::mt::Semaphore s(0);
  const bool got = race_timeout(
      hubs, First::wake, [&] { return s.acquire(5ms); }, [&] { s.release(); }, [&] { return s.waiting() == 1; });
  EXPECT_TRUE(got);
  EXPECT_EQ(s.available(), 0u) << "a permit was counted twice";
}

TEST(MtSemaphore, KillAndCrossHubReleaseInBothOrders) {
  for (KillFrom from : {KillFrom::same_hub, KillFrom::other_thread}) {
    for (First first : {First::interruption, First::wake}) {
      grove::HubGroup hubs(2);
      grove::mt::BoundedSemaphore s(1);
      s.acquire();  // main holds the only permit
      std::atomic<bool> acquired{false};
      std::atomic<bool> released_by_unwinding{false};
      race_kill(
          hubs, first, from,
          [&] {
            s.acquire();
            acquired = true;
            struct Release {
              grove::mt::BoundedSemaphore& s;
              std::atomic<bool>& flag;
              ~Release() {
                s.release();
                flag = true;
              }
            } r{s, released_by_unwinding};
            grove::sleep(1h);  // the kill arrives here; r gives the permit back as it unwinds
          },
          [&] { s.release(); }, [&] { return s.waiting() == 1; });
      EXPECT_EQ(acquired, first == First::wake);
      EXPECT_EQ(released_by_unwinding, first == First::wake);
      EXPECT_EQ(s.available(), 1u) << "a permit was lost or doubled";
    }
  }
}

TEST(MtSemaphore, ReleaseFromAThreadWithoutAHub) {
  grove::HubGroup hubs(1);
  grove::mt::Semaphore s(0);
  auto g = hubs.spawn_on(0, [&] { return s.acquire(10s); });
  ASSERT_TRUE(spin_until([&] { return s.waiting() == 1; }));
  std::thread([&] { s.release(); }).join();
  EXPECT_TRUE(g.get());
}

TEST(MtBoundedSemaphore, OverReleaseIsAUsageErrorOnAnyThread) {
  grove::mt::BoundedSemaphore s(1);
  bool threw = false;
  std::thread([&] {
    try {
      s.release();
    } catch (const grove::UsageError&) {
      threw = true;
    }
  }).join();
  EXPECT_TRUE(threw);
}

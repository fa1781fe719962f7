// grove::mt::WaitGroup between hubs and plain threads: tasks counted off on several hubs and
// threads wake waiters everywhere; Timeout and kill racing the last done() in both orders.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "cross_hub.hpp"

using namespace std::chrono_literals;
using namespace cross_hub;

TEST(MtWaitGroup, TasksOnEveryHubAndThreadWakeEveryWaiter) {
  grove::HubGroup hubs(2);
  grove::mt::WaitGroup wg;
  std::atomic<int> ran{0};
  wg.add(21);
  for (int i = 0; i < 20; ++i)
    hubs.spawn_on(static_cast<std::size_t>(i % 2), [&] {
      grove::sleep(1ms);
      ++ran;
      wg.done();
    });
  std::atomic<int> woke{0};
  auto w0 = hubs.spawn_on(0, [&] {
    wg.wait();
    woke += ran == 21;
  });
  std::thread w1([&] {
    wg.wait();
    woke += ran == 21;
  });
  std::thread([&] {  // the last task: a thread without a hub
    ++ran;
    wg.done();
  }).join();
  wg.wait();
  w0.get();
  w1.join();
  EXPECT_EQ(ran, 21);
  EXPECT_EQ(woke, 2) << "a waiter woke before every task was done, or did not see their work";
  EXPECT_THROW(wg.done(), grove::UsageError);
}

TEST(MtWaitGroup, TimeoutAndLastDoneInBothOrders) {
  for (First first : {First::interruption, First::wake}) {
    grove::HubGroup hubs(2);
    grove::mt::WaitGroup wg;
    wg.add();
    const bool got = race_timeout(
        hubs, first, [&] { return wg.wait(5ms); }, [&] { wg.done(); }, [] { return true; });
    EXPECT_EQ(got, first == First::wake);
    EXPECT_EQ(wg.count(), 0u);
  }
}

TEST(MtWaitGroup, KillAndLastDoneInBothOrders) {
  for (First first : {First::interruption, First::wake}) {
    grove::HubGroup hubs(2);
    grove::mt::WaitGroup wg;
    wg.add();
    std::atomic<bool> returned{false};
    race_kill(
        hubs, first, KillFrom::same_hub, [&] {
          wg.wait();
          returned = true;
        },
        [&] { wg.done(); }, [] { return true; });
    EXPECT_EQ(returned, first == First::wake);
  }
}

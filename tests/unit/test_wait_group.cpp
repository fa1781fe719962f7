// WaitGroup: counting, waking, timeouts, kill, misuse.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <vector>

using namespace std::chrono_literals;

TEST(WaitGroup, WaitReturnsWhenEveryTaskIsDone) {
  grove::WaitGroup wg;
  int done = 0;
  for (int i = 0; i < 10; ++i) {
    wg.add();
    grove::spawn([&, i] {
      grove::sleep(std::chrono::milliseconds(i));
      ++done;
      wg.done();
    });
  }
  wg.wait();
  EXPECT_EQ(done, 10);
  EXPECT_EQ(wg.count(), 0u);
  wg.wait();  // zero: returns at once
}

TEST(WaitGroup, WakesEveryWaiter) {
  grove::WaitGroup wg;
  wg.add(1);
  int woken = 0;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 3; ++i) gs.push_back(grove::spawn([&] {
    wg.wait();
    ++woken;
  }));
  grove::yield();
  EXPECT_EQ(woken, 0);
  wg.done();
  grove::joinall(gs);
  EXPECT_EQ(woken, 3);
}

TEST(WaitGroup, WaitTimesOut) {
  grove::WaitGroup wg;
  wg.add();
  EXPECT_FALSE(wg.wait(20ms));
  {
    grove::Timeout t(10ms);
    EXPECT_THROW(wg.wait(), grove::TimeoutError);
  }
  wg.done();
  EXPECT_TRUE(wg.wait(1ms));
}

TEST(WaitGroup, DoneTooOftenIsAUsageError) {
  grove::WaitGroup wg;
  EXPECT_THROW(wg.done(), grove::UsageError);
  wg.add(2);
  wg.done();
  wg.done();
  EXPECT_THROW(wg.done(), grove::UsageError);
}

TEST(WaitGroup, KillWhileWaiting) {
  grove::WaitGroup wg;
  wg.add();
  auto g = grove::spawn([&] { wg.wait(); });
  grove::yield();
  g.kill();
  EXPECT_TRUE(g.killed());
  wg.done();
  EXPECT_EQ(wg.count(), 0u);
}

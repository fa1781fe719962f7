// Semaphore and BoundedSemaphore: permits, FIFO hand-over, timeouts, kill, over-release.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <algorithm>
#include <mutex>
#include <vector>

using namespace std::chrono_literals;

TEST(Semaphore, CountsPermits) {
  grove::Semaphore s(2);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_FALSE(s.try_acquire());
  EXPECT_TRUE(s.locked());
  s.release();
  EXPECT_EQ(s.available(), 1u);
  s.release(3);
  EXPECT_EQ(s.available(), 4u);  // unbounded
}

TEST(Semaphore, LimitsConcurrency) {
  grove::Semaphore s(3);
  int inside = 0, max_inside = 0;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 20; ++i)
    gs.push_back(grove::spawn([&] {
      std::lock_guard hold(s);
      max_inside = std::max(max_inside, ++inside);
      grove::sleep(1ms);
      --inside;
    }));
  grove::joinall(gs);
  EXPECT_EQ(max_inside, 3);
  EXPECT_EQ(s.available(), 3u);
}

TEST(Semaphore, WaitersAreServedFifoAndLateComersCannotBarge) {
  grove::Semaphore s(0);
  std::vector<int> order;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 5; ++i)
    gs.push_back(grove::spawn([&, i] {
      s.acquire();
      order.push_back(i);
    }));
  grove::yield();
  EXPECT_EQ(s.waiting(), 5u);
  for (int i = 0; i < 5; ++i) {
    s.release();
    EXPECT_FALSE(s.try_acquire()) << "the released permit belongs to the first waiter";
  }
  grove::joinall(gs);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(s.available(), 0u);
}

TEST(Semaphore, AcquireTimesOut) {
  grove::Semaphore s(0);
  auto t0 = grove::Clock::now();
  EXPECT_FALSE(s.acquire(25ms));
  EXPECT_GE(grove::Clock::now() - t0, 25ms);
  EXPECT_EQ(s.waiting(), 0u);
  s.release();
  EXPECT_TRUE(s.acquire(25ms));
}

TEST(Semaphore, TimeoutScopeInterruptsAcquire) {
  grove::Semaphore s(0);
  {
    grove::Timeout t(15ms);
    EXPECT_THROW(s.acquire(), grove::TimeoutError);
  }
  s.release();
  EXPECT_EQ(s.available(), 1u);  // nobody took it
}

TEST(Semaphore, KillWhileWaitingLosesNoPermit) {
  grove::Semaphore s(0);
  auto g = grove::spawn([&] { s.acquire(); });
  grove::yield();
  g.kill();
  EXPECT_TRUE(g.killed());
  s.release();
  EXPECT_EQ(s.available(), 1u);
  EXPECT_EQ(s.waiting(), 0u);
}

TEST(Semaphore, PermitHandedOverBeforeAKillIsOwnedByTheWaiter) {
  grove::Semaphore s(0);
  bool acquired = false, exited = false;
  auto g = grove::spawn([&] {
    std::lock_guard hold(s);
    acquired = true;
    try {
      grove::sleep(10s);  // the kill is delivered here
    } catch (const grove::GreenletExit&) {
      exited = true;
      throw;
    }
  });
  grove::yield();
  s.release();      // hands the permit to g, which is ready but has not run
  g.kill_nowait();  // arrives after the hand-over
  g.join();
  EXPECT_TRUE(acquired);
  EXPECT_TRUE(exited);
  EXPECT_EQ(s.available(), 1u);  // released by the lock_guard while unwinding
}

TEST(Semaphore, KilledWaiterIsSkippedAndTheNextOneGetsThePermit) {
  grove::Semaphore s(0);
  bool second = false;
  auto a = grove::spawn([&] { s.acquire(); });
  auto b = grove::spawn([&] {
    s.acquire();
    second = true;
  });
  grove::yield();
  a.kill_nowait();  // a is woken (killed) but has not run yet: still linked in the list
  s.release();
  b.join();
  a.join();
  EXPECT_TRUE(second);
  EXPECT_TRUE(a.killed());
  EXPECT_EQ(s.available(), 0u);
}

TEST(BoundedSemaphore, OverReleaseIsAUsageError) {
  grove::BoundedSemaphore s(2);
  EXPECT_THROW(s.release(), grove::UsageError);
  s.acquire();
  s.release();
  EXPECT_THROW(s.release(), grove::UsageError);
  EXPECT_EQ(s.available(), 2u);
}

TEST(BoundedSemaphore, HandOverCountsAsARelease) {
  grove::BoundedSemaphore s(1);
  s.acquire();
  auto g = grove::spawn([&] {
    s.acquire();
    s.release();
  });
  grove::yield();
  s.release();  // to g
  g.join();
  EXPECT_EQ(s.available(), 1u);
  EXPECT_THROW(s.release(), grove::UsageError);
}

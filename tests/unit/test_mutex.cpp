// Mutex: exclusion across parks, ownership errors, FIFO hand-over, timeouts, kill.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <algorithm>
#include <mutex>
#include <vector>

using namespace std::chrono_literals;

TEST(Mutex, ExcludesAcrossParks) {
  grove::Mutex m;
  int inside = 0, max_inside = 0, total = 0;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 10; ++i)
    gs.push_back(grove::spawn([&] {
      for (int k = 0; k < 3; ++k) {
        std::lock_guard lock(m);
        max_inside = std::max(max_inside, ++inside);
        grove::yield();  // parks while holding the lock
        ++total;
        --inside;
      }
    }));
  grove::joinall(gs);
  EXPECT_EQ(max_inside, 1);
  EXPECT_EQ(total, 30);
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, OwnershipErrorsAreUsageErrors) {
  grove::Mutex m;
  EXPECT_THROW(m.unlock(), grove::UsageError);  // not locked
  m.lock();
  EXPECT_TRUE(m.held());
  EXPECT_THROW(m.lock(), grove::UsageError);  // not recursive: would wait for itself
  auto other = grove::spawn([&] {
    EXPECT_FALSE(m.held());
    EXPECT_THROW(m.unlock(), grove::UsageError);
  });
  other.join();
  EXPECT_TRUE(m.locked());
  m.unlock();
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, UnlockHandsOverFifo) {
  grove::Mutex m;
  std::vector<int> order;
  m.lock();
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 5; ++i)
    gs.push_back(grove::spawn([&, i] {
      std::lock_guard lock(m);
      order.push_back(i);
    }));
  grove::yield();
  m.unlock();
  EXPECT_TRUE(m.locked()) << "ownership passed to the first waiter at once";
  EXPECT_FALSE(m.try_lock()) << "no barging";
  grove::joinall(gs);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, TryLockForTimesOut) {
  grove::Mutex m;
  auto holder = grove::spawn([&] {
    std::lock_guard lock(m);
    grove::sleep(100ms);
  });
  grove::yield();
  auto t0 = grove::Clock::now();
  EXPECT_FALSE(m.try_lock_for(20ms));
  EXPECT_GE(grove::Clock::now() - t0, 20ms);
  EXPECT_TRUE(m.try_lock_for(5s));
  m.unlock();
  holder.join();
}

TEST(Mutex, WorksWithUniqueLock) {
  grove::Mutex m;
  std::unique_lock lock(m, std::defer_lock);
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
  EXPECT_TRUE(lock.try_lock_for(1ms));
  EXPECT_TRUE(m.held());
}

TEST(Mutex, KillWhileWaitingLeavesItConsistent) {
  grove::Mutex m;
  m.lock();
  auto g = grove::spawn([&] { std::lock_guard lock(m); });
  grove::yield();
  g.kill();
  EXPECT_TRUE(g.killed());
  m.unlock();
  EXPECT_FALSE(m.locked()) << "the killed waiter must not have been given the lock";
  auto h = grove::spawn([&] { std::lock_guard lock(m); });
  h.join();
  EXPECT_TRUE(h.successful());
}

TEST(Mutex, LockHandedOverBeforeAKillIsReleasedByUnwinding) {
  grove::Mutex m;
  m.lock();
  bool got = false;
  auto g = grove::spawn([&] {
    std::lock_guard lock(m);
    got = true;
    grove::sleep(10s);
  });
  grove::yield();
  m.unlock();  // g owns it now
  g.kill_nowait();
  g.join();
  EXPECT_TRUE(got);
  EXPECT_TRUE(g.killed());
  EXPECT_FALSE(m.locked());
}

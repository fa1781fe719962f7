// CondVar: wait/notify under a grove::Mutex, FIFO, timeouts, and the lock held on every exit.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <deque>
#include <mutex>
#include <vector>

using namespace std::chrono_literals;

TEST(CondVar, ProducerConsumerWithPredicate) {
  grove::Mutex m;
  grove::CondVar cv;
  std::deque<int> items;
  std::vector<int> got;
  auto consumer = grove::spawn([&] {
    for (int i = 0; i < 100; ++i) {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return !items.empty(); });
      EXPECT_TRUE(m.held());
      got.push_back(items.front());
      items.pop_front();
    }
  });
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(m);
      items.push_back(i);
    }
    cv.notify_one();
    if (i % 7 == 0) grove::yield();
  }
  consumer.join();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
}

TEST(CondVar, NotifyOneWakesInFifoOrderAndNotifyAllWakesTheRest) {
  grove::Mutex m;
  grove::CondVar cv;
  std::vector<int> order;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 4; ++i)
    gs.push_back(grove::spawn([&, i] {
      std::unique_lock lock(m);
      cv.wait(lock);
      order.push_back(i);
    }));
  grove::yield();
  EXPECT_EQ(cv.waiting(), 4u);
  cv.notify_one();
  grove::yield();
  EXPECT_EQ(order, (std::vector<int>{0}));
  cv.notify_all();
  grove::joinall(gs);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(CondVar, WaitForTimesOutWithTheLockHeld) {
  grove::Mutex m;
  grove::CondVar cv;
  std::unique_lock lock(m);
  auto t0 = grove::Clock::now();
  EXPECT_EQ(cv.wait_for(lock, 20ms), std::cv_status::timeout);
  EXPECT_GE(grove::Clock::now() - t0, 20ms);
  EXPECT_TRUE(m.held());
  EXPECT_FALSE(cv.wait_for(lock, 5ms, [] { return false; }));
  EXPECT_TRUE(m.held());
  EXPECT_EQ(cv.waiting(), 0u);
}

TEST(CondVar, KilledWaiterHoldsTheLockAgainWhenTheExitPropagates) {
  grove::Mutex m;
  grove::CondVar cv;
  bool held_on_throw = false;
  auto g = grove::spawn([&] {
    std::unique_lock lock(m);
    try {
      cv.wait(lock);
    } catch (const grove::GreenletExit&) {
      held_on_throw = m.held();
      throw;
    }
  });
  grove::yield();  // g waits, the mutex is free
  m.lock();        // main holds it while g is killed: g must wait for it, not skip it
  g.kill_nowait();
  grove::yield();
  EXPECT_FALSE(g.ready()) << "g must wait for the mutex before unwinding";
  m.unlock();
  g.join();
  EXPECT_TRUE(g.killed());
  EXPECT_TRUE(held_on_throw);
  EXPECT_FALSE(m.locked());
  EXPECT_EQ(cv.waiting(), 0u);
}

TEST(CondVar, TimeoutScopeThrowsWithTheLockHeld) {
  grove::Mutex m;
  grove::CondVar cv;
  std::unique_lock lock(m);
  grove::Timeout t(15ms);
  EXPECT_THROW(cv.wait(lock), grove::TimeoutError);
  EXPECT_TRUE(lock.owns_lock());
  EXPECT_TRUE(m.held());
}

TEST(CondVar, WaitWithoutTheLockIsAUsageError) {
  grove::Mutex m;
  grove::CondVar cv;
  std::unique_lock lock(m, std::defer_lock);
  EXPECT_THROW(cv.wait(lock), grove::UsageError);
}

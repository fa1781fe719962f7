// Event and AsyncResult: set/wait semantics, FIFO wake order, timeouts, kill, hand-over.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST(Event, WaitReturnsAtOnceWhenSet) {
  grove::Event ev;
  EXPECT_FALSE(ev.is_set());
  ev.set();
  EXPECT_TRUE(ev.is_set());
  EXPECT_TRUE(ev.wait());
  EXPECT_TRUE(ev.wait(0ms));
  ev.clear();
  EXPECT_FALSE(ev.is_set());
}

TEST(Event, SetWakesEveryWaiterInFifoOrder) {
  grove::Event ev;
  std::vector<int> order;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 5; ++i)
    gs.push_back(grove::spawn([&, i] {
      ev.wait();
      order.push_back(i);
    }));
  grove::yield();  // all five park
  EXPECT_EQ(ev.waiting(), 5u);
  EXPECT_TRUE(order.empty());
  ev.set();
  grove::joinall(gs);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ev.waiting(), 0u);
}

TEST(Event, WaiterWokenBySetReturnsTrueEvenIfClearedBeforeItRuns) {
  grove::Event ev;
  bool result = false;
  auto g = grove::spawn([&] { result = ev.wait(1s); });
  grove::yield();
  ev.set();
  ev.clear();  // before g runs
  g.join();
  EXPECT_TRUE(result);
}

TEST(Event, WaitWithTimeoutReturnsFalse) {
  grove::Event ev;
  auto t0 = grove::Clock::now();
  EXPECT_FALSE(ev.wait(30ms));
  auto took = grove::Clock::now() - t0;
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 1s);
  EXPECT_EQ(ev.waiting(), 0u);
}

TEST(Event, WaitHonoursTimeoutScope) {
  grove::Event ev;
  grove::Timeout t(20ms);
  EXPECT_THROW(ev.wait(), grove::TimeoutError);
  EXPECT_EQ(ev.waiting(), 0u);
}

TEST(Event, KillWhileWaitingLeavesTheEventClean) {
  grove::Event ev;
  bool exited = false;
  auto g = grove::spawn([&] {
    try {
      ev.wait();
    } catch (const grove::GreenletExit&) {
      exited = true;
      throw;
    }
  });
  grove::yield();
  EXPECT_EQ(ev.waiting(), 1u);
  g.kill();
  EXPECT_TRUE(exited);
  EXPECT_TRUE(g.killed());
  EXPECT_EQ(ev.waiting(), 0u);
  ev.set();  // nobody left to wake: must not touch the dead greenlet
  EXPECT_TRUE(ev.wait());
}

TEST(Event, WaitingForeverIsReported) {
  grove::Event ev;
  EXPECT_THROW(ev.wait(), grove::BlockedForever);
  EXPECT_EQ(ev.waiting(), 0u);
}

TEST(AsyncResult, GetReturnsTheValueToEveryGetter) {
  grove::AsyncResult<std::string> r;
  std::vector<std::string> got;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 3; ++i) gs.push_back(grove::spawn([&] { got.push_back(r.get()); }));
  grove::yield();
  EXPECT_FALSE(r.ready());
  r.set("v");
  grove::joinall(gs);
  EXPECT_EQ(got, (std::vector<std::string>{"v", "v", "v"}));
  EXPECT_TRUE(r.successful());
  EXPECT_EQ(r.get(), "v");
}

TEST(AsyncResult, GetRethrowsTheException) {
  grove::AsyncResult<int> r;
  auto g = grove::spawn([&] {
    try {
      throw std::runtime_error("boom");
    } catch (...) {
      r.set_exception(std::current_exception());
    }
  });
  try {
    r.get();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  EXPECT_TRUE(r.ready());
  EXPECT_FALSE(r.successful());
  EXPECT_TRUE(r.exception());
}

TEST(AsyncResult, SettingTwiceIsAUsageError) {
  grove::AsyncResult<int> r;
  r.set(1);
  EXPECT_THROW(r.set(2), grove::UsageError);
  EXPECT_THROW(r.set_exception(std::make_exception_ptr(std::runtime_error("x"))), grove::UsageError);
  EXPECT_EQ(r.get(), 1);
}

TEST(AsyncResult, GetWithTimeoutThrowsTimeoutError) {
  grove::AsyncResult<int> r;
  auto t0 = grove::Clock::now();
  EXPECT_THROW(r.get(20ms), grove::TimeoutError);
  EXPECT_GE(grove::Clock::now() - t0, 20ms);
  EXPECT_FALSE(r.wait(5ms));
  r.set(3);
  EXPECT_EQ(r.get(5ms), 3);
}

TEST(AsyncResult, VoidResult) {
  grove::AsyncResult<void> r;
  auto g = grove::spawn([&] {
    grove::sleep(5ms);
    r.set();
  });
  r.get();
  EXPECT_TRUE(r.successful());
  g.join();
}

TEST(AsyncResult, MoveOnlyValue) {
  grove::AsyncResult<std::unique_ptr<int>> r;
  r.set(std::make_unique<int>(5));
  EXPECT_EQ(*r.get(), 5);
}

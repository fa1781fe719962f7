// sleep, yield, timer ordering and Timeout scopes.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <vector>
#include "stack.hpp"  // running_on_valgrind

using namespace std::chrono_literals;

TEST(Sleep, HundredSleepsOverlap) {
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 100; ++i) gs.push_back(grove::spawn([] { grove::sleep(200ms); }));
  grove::joinall(gs);
  auto took = grove::Clock::now() - t0;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1500ms);  // serially it would be 20 s
}

TEST(Sleep, SleepsAtLeastItsDuration) {
  for (auto d : {1ms, 15ms, 40ms}) {
    auto t0 = grove::Clock::now();
    grove::sleep(d);
    EXPECT_GE(grove::Clock::now() - t0, d);
  }
}

TEST(Sleep, SubMillisecondPrecisionIsKept) {
  if (grove::detail::running_on_valgrind()) GTEST_SKIP() << "under valgrind: timing: everything runs 20-50 times slower";
  // 200 sleeps of 100 µs: rounding each up to a millisecond would take >= 200 ms.
  auto t0 = grove::Clock::now();
  for (int i = 0; i < 200; ++i) grove::sleep(100us);
  auto took = grove::Clock::now() - t0;
  EXPECT_GE(took, 20ms);
  EXPECT_LT(took, 150ms);
}

TEST(Sleep, TimersFireInDeadlineOrder) {
  std::vector<int> order;
  std::vector<grove::Greenlet<void>> gs;
  const int delays_ms[] = {50, 10, 40, 20, 30};
  for (int d : delays_ms)
    gs.push_back(grove::spawn([&order, d] {
      grove::sleep(std::chrono::milliseconds(d));
      order.push_back(d);
    }));
  grove::joinall(gs);
  EXPECT_EQ(order, (std::vector<int>{10, 20, 30, 40, 50}));
}

TEST(Sleep, EqualDeadlinesFireInSpawnOrder) {
  std::vector<int> order;
  std::vector<grove::Greenlet<void>> gs;
  auto deadline = grove::Clock::now() + 30ms;
  for (int i = 0; i < 5; ++i)
    gs.push_back(grove::spawn([&order, i, deadline] {
      grove::sleep_until(deadline);
      order.push_back(i);
    }));
  grove::joinall(gs);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Sleep, SleepUntilAPastTimeOnlyYields) {
  auto t0 = grove::Clock::now();
  grove::sleep_until(t0 - 1s);
  EXPECT_LT(grove::Clock::now() - t0, 50ms);
}

TEST(Yield, ZeroSleepLetsEveryReadyGreenletRunOnce) {
  std::vector<int> trace;
  auto a = grove::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      trace.push_back(1);
      grove::sleep(0ms);
    }
  });
  auto b = grove::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      trace.push_back(2);
      grove::yield();
    }
  });
  a.join();
  b.join();
  EXPECT_EQ(trace, (std::vector<int>{1, 2, 1, 2, 1, 2}));
}

TEST(Yield, BusyYieldersDoNotStarveTimers) {
  bool stop = false;
  long spins = 0;
  auto spinner = grove::spawn([&] {
    while (!stop) {
      ++spins;
      grove::yield();
    }
  });
  auto t0 = grove::Clock::now();
  grove::sleep(30ms);  // must fire although a greenlet is always ready
  stop = true;
  spinner.join();
  EXPECT_LT(grove::Clock::now() - t0, 1s);
  EXPECT_GT(spins, 10);
}

TEST(Timeout, ExpiresAtTheBlockingCall) {
  auto t0 = grove::Clock::now();
  grove::Timeout t(50ms);
  try {
    grove::sleep(5s);
    FAIL() << "sleep was not interrupted";
  } catch (const grove::TimeoutError& e) {
    EXPECT_TRUE(e.from(t));
  }
  auto took = grove::Clock::now() - t0;
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 1s);
}

TEST(Timeout, DoesNothingWhenWorkFinishesFirst) {
  grove::Timeout t(1s);
  grove::sleep(5ms);
  EXPECT_FALSE(t.expired());
  EXPECT_GT(t.remaining(), 500ms);
}

TEST(Timeout, IsCancelledOnScopeExit) {
  {
    grove::Timeout t(20ms);
    grove::sleep(1ms);
  }
  grove::sleep(50ms);  // past the old deadline: must not throw
  SUCCEED();
}

TEST(Timeout, NestedEarliestWinsAndNamesTheScope) {
  grove::Timeout outer(40ms);
  try {
    grove::Timeout inner(5s);
    grove::sleep(5s);
    FAIL() << "not interrupted";
  } catch (const grove::TimeoutError& e) {
    EXPECT_TRUE(e.from(outer));
  }
}

TEST(Timeout, NestedInnerEarlierIsCaughtInside) {
  grove::Timeout outer(5s);
  bool inner_fired = false;
  try {
    grove::Timeout inner(20ms);
    grove::sleep(5s);
  } catch (const grove::TimeoutError& e) {
    inner_fired = !e.from(outer);
  }
  EXPECT_TRUE(inner_fired);
  grove::sleep(5ms);  // the outer scope is still alive and not expired
  EXPECT_FALSE(outer.expired());
}

TEST(Timeout, IsStickyInsideItsScope) {
  grove::Timeout t(10ms);
  EXPECT_THROW(grove::sleep(1s), grove::TimeoutError);
  auto t0 = grove::Clock::now();
  EXPECT_THROW(grove::sleep(1s), grove::TimeoutError);  // at once
  EXPECT_LT(grove::Clock::now() - t0, 100ms);
}

TEST(Timeout, InterruptsALoopThatOnlyYields) {
  long rounds = 0;
  auto t0 = grove::Clock::now();
  try {
    grove::Timeout t(30ms);
    for (;;) {
      ++rounds;
      grove::yield();
    }
  } catch (const grove::TimeoutError&) {
  }
  EXPECT_GE(grove::Clock::now() - t0, 30ms);
  EXPECT_LT(grove::Clock::now() - t0, 1s);
  EXPECT_GT(rounds, 1);
}

TEST(Timeout, OwnDeadlineOfJoinIsNotAScopeTimeout) {
  grove::Timeout t(5s);
  auto g = grove::spawn([] { grove::sleep(5s); });
  EXPECT_FALSE(g.join(10ms));  // join's own timeout: false, not an exception
  g.kill();
}

TEST(Timeout, AppliesInsideGreenlets) {
  auto g = grove::spawn([] {
    grove::Timeout t(20ms);
    grove::sleep(5s);
  });
  g.join();
  EXPECT_THROW(g.get(), grove::TimeoutError);
}

TEST(Timeout, WhileJoining) {
  auto slow = grove::spawn([] { grove::sleep(5s); });
  {
    grove::Timeout t(20ms);
    EXPECT_THROW(slow.join(), grove::TimeoutError);
  }
  EXPECT_FALSE(slow.ready());
  slow.kill();
}

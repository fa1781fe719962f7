// Greenlet lifecycle: spawn, values, exceptions, join, kill, spawn_later, joinall, wait_any.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>
#include "stack.hpp"  // running_on_valgrind

using namespace std::chrono_literals;

TEST(Greenlet, ReturnsValueThroughGet) {
  auto g = grove::spawn([] { return 6 * 7; });
  EXPECT_FALSE(g.ready());  // spawned, not yet run: runs once the caller blocks
  EXPECT_EQ(g.get(), 42);
  EXPECT_TRUE(g.ready());
  EXPECT_TRUE(g.successful());
  EXPECT_EQ(g.get(), 42);  // get is repeatable
}

TEST(Greenlet, PassesArgumentsByValueLikeStdThread) {
  std::string s = "abc";
  auto g = grove::spawn([](std::string x, int n) { return x + std::to_string(n); }, s, 5);
  s = "changed";
  EXPECT_EQ(g.get(), "abc5");
}

TEST(Greenlet, MoveOnlyArgumentsAndResults) {
  auto g = grove::spawn([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); }, std::make_unique<int>(1));
  EXPECT_EQ(*g.get(), 2);
}

TEST(Greenlet, VoidGreenlet) {
  int ran = 0;
  auto g = grove::spawn([&] { ++ran; });
  g.get();
  EXPECT_EQ(ran, 1);
}

TEST(Greenlet, ExceptionIsRethrownByGet) {
  auto g = grove::spawn([]() -> int { throw std::out_of_range("nope"); });
  g.join();
  EXPECT_TRUE(g.ready());
  EXPECT_FALSE(g.successful());
  EXPECT_THROW(g.get(), std::out_of_range);
  EXPECT_TRUE(g.exception() != nullptr);
}

TEST(Greenlet, RunsInSpawnOrder) {
  std::vector<int> order;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 10; ++i) gs.push_back(grove::spawn([&order, i] { order.push_back(i); }));
  grove::joinall(gs);
  std::vector<int> expected(10);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);
}

TEST(Greenlet, JoiningAnUnstartedGreenletStartsItNext) {
  std::vector<int> order;
  auto a = grove::spawn([&] { order.push_back(1); });
  auto b = grove::spawn([&] { order.push_back(2); });
  auto c = grove::spawn([&] { order.push_back(3); });
  c.join();  // the joined one runs first; the rest keep their spawn order
  grove::joinall(std::vector<grove::Greenlet<void>>{a, b});
  EXPECT_EQ(order, (std::vector<int>{3, 1, 2}));
}

TEST(Greenlet, AFinishingGreenletHandsOverToItsJoiner) {
  std::vector<std::string> order;
  auto child = grove::spawn([&] { order.push_back("child"); });
  auto parent = grove::spawn([&] {
    child.join();
    order.push_back("parent");
  });
  auto bystander = grove::spawn([&] { order.push_back("bystander"); });
  grove::joinall(std::vector<grove::Greenlet<void>>{parent, bystander});
  // FIFO alone would run child, parent (parks), bystander, then parent again.
  EXPECT_EQ(order, (std::vector<std::string>{"child", "parent", "bystander"}));
}

TEST(Greenlet, JoinWithTimeout) {
  grove::Event finish;
  auto g = grove::spawn([&] { finish.wait(); });
  EXPECT_FALSE(g.join(20ms));  // it cannot finish before finish.set()
  EXPECT_FALSE(g.ready());
  EXPECT_EQ(finish.waiting(), 1u);
  finish.set();
  EXPECT_TRUE(g.join(5s));
  EXPECT_TRUE(g.ready());
}

TEST(Greenlet, JoinSelfIsAnError) {
  auto g = grove::spawn([] {
    auto self = grove::current();
    self.join();
  });
  g.join();
  EXPECT_THROW(g.get(), grove::UsageError);
}

TEST(Greenlet, KillRaisesGreenletExitAtTheParkPoint) {
  bool cleaned_up = false;
  bool after_sleep = false;
  auto g = grove::spawn([&] {
    struct Cleanup {
      bool& flag;
      ~Cleanup() { flag = true; }
    } c{cleaned_up};
    grove::sleep(10s);
    after_sleep = true;
  });
  grove::yield();  // let it run up to its park
  EXPECT_FALSE(g.ready());
  auto t0 = grove::Clock::now();
  g.kill();
  EXPECT_LT(grove::Clock::now() - t0, 1s);
  EXPECT_TRUE(g.ready());
  EXPECT_TRUE(g.killed());
  EXPECT_TRUE(cleaned_up);  // its stack was unwound
  EXPECT_FALSE(after_sleep);
  EXPECT_THROW(g.get(), grove::GreenletExit);
}

TEST(Greenlet, KillBeforeStartMeansItNeverRuns) {
  bool ran = false;
  auto g = grove::spawn([&] { ran = true; });
  g.kill();
  EXPECT_TRUE(g.ready());
  EXPECT_TRUE(g.killed());
  grove::yield();  // every ready greenlet runs once: it would have, had it still been scheduled
  EXPECT_FALSE(ran);
  EXPECT_THROW(g.get(), grove::GreenletExit);
}

TEST(Greenlet, KillIsStickySoSwallowingItCannotBlockAgain) {
  int parks_after_kill = 0;
  auto g = grove::spawn([&] {
    try {
      grove::sleep(10s);
    } catch (const grove::GreenletExit&) {
      // A careless catch-all would keep going...
    }
    try {
      grove::sleep(10s);  // ...but every further blocking call raises again
    } catch (const grove::GreenletExit&) {
      ++parks_after_kill;
      throw;
    }
  });
  grove::yield();  // it parks in its first sleep
  auto t0 = grove::Clock::now();
  g.kill();
  EXPECT_LT(grove::Clock::now() - t0, 1s);
  EXPECT_EQ(parks_after_kill, 1);
  EXPECT_TRUE(g.killed());
}

TEST(Greenlet, KillFinishedGreenletIsANoOp) {
  auto g = grove::spawn([] { return 1; });
  EXPECT_EQ(g.get(), 1);
  g.kill();
  EXPECT_FALSE(g.killed());
  EXPECT_EQ(g.get(), 1);
}

TEST(Greenlet, KillNowaitDeliversWithoutWaiting) {
  auto g = grove::spawn([] { grove::sleep(10s); });
  grove::yield();  // it parks
  g.kill_nowait();
  EXPECT_FALSE(g.ready());  // not run since the kill
  g.join();
  EXPECT_TRUE(g.killed());
}

TEST(Greenlet, SpawnLaterWaitsForItsDelay) {
  auto t0 = grove::Clock::now();
  auto g = grove::spawn_later(100ms, [t0] { return grove::Clock::now() - t0; });
  auto waited = g.get();
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 2s);
}

TEST(Greenlet, KillDuringSpawnLaterDelay) {
  bool ran = false;
  auto g = grove::spawn_later(50ms, [&] { ran = true; });
  g.kill();
  grove::sleep(100ms);  // past the delay: this wait is what the test is about, not an ordering
  EXPECT_FALSE(ran);
  EXPECT_TRUE(g.killed());
}

TEST(Greenlet, JoinallWithTimeoutReportsUnfinished) {
  grove::Event never;
  std::vector<grove::Greenlet<void>> gs;
  gs.push_back(grove::spawn([] {}));
  gs.push_back(grove::spawn([&] { never.wait(); }));
  EXPECT_FALSE(grove::joinall(gs, 50ms));
  EXPECT_TRUE(gs[0].ready());
  EXPECT_FALSE(gs[1].ready());
  gs[1].kill();
  EXPECT_TRUE(grove::joinall(gs, 1s));
}

TEST(Greenlet, WaitAnyReturnsFirstFinished) {
  grove::Event never;
  std::vector<grove::Greenlet<int>> gs;
  gs.push_back(grove::spawn([&] { never.wait(); return 0; }));
  gs.push_back(grove::spawn([] { grove::yield(); return 1; }));  // parks once, then finishes
  gs.push_back(grove::spawn([&] { never.wait(); return 2; }));
  auto& first = grove::wait_any(gs);
  EXPECT_EQ(first.get(), 1);
  EXPECT_FALSE(gs[0].ready());
  auto none = grove::wait_any(gs, 1ms);  // gs[1] is already finished
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, 1u);
  for (auto& g : gs) g.kill();
}

TEST(Greenlet, WaitAnyTimesOut) {
  grove::Event never;
  std::vector<grove::Greenlet<void>> gs;
  gs.push_back(grove::spawn([&] { never.wait(); }));
  EXPECT_FALSE(grove::wait_any(gs, 20ms).has_value());
  gs[0].kill();
  EXPECT_THROW(grove::wait_any(std::vector<grove::Greenlet<void>>{}), grove::UsageError);
}

TEST(Greenlet, NamesAndCurrent) {
  auto g = grove::spawn(grove::SpawnOptions{.name = "worker"}, [] { return grove::current().name(); });
  EXPECT_EQ(g.get(), "worker");
  EXPECT_EQ(g.name(), "worker");
  EXPECT_EQ(grove::current().name(), "main");
  auto anon = grove::spawn([] {});
  EXPECT_EQ(anon.name().rfind("greenlet-", 0), 0u);
  anon.join();
}

TEST(Greenlet, HundredThousandSpawnedAndJoined) {
  if (grove::detail::running_on_valgrind()) GTEST_SKIP() << "under valgrind: valgrind's address space manager cannot hold 100k guarded stacks (VG_N_SEGMENTS)";
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer (GCC 12's runtime) keeps at most 8128 threads and fibers alive; "
                  "every greenlet that has run and not finished is a fiber";
#endif
  constexpr int n = 100'000;
  std::vector<grove::Greenlet<int>> gs;
  gs.reserve(n);
  for (int i = 0; i < n; ++i) gs.push_back(grove::spawn([i] {
    grove::yield();  // every one of them parks once
    return i;
  }));
  long long sum = 0;
  for (auto& g : gs) sum += g.get();
  EXPECT_EQ(sum, static_cast<long long>(n) * (n - 1) / 2);
}

TEST(Greenlet, UnobservedExceptionIsLogged) {
  testing::internal::CaptureStderr();
  {
    auto g = grove::spawn([] { throw std::runtime_error("lost-in-the-woods"); });
    grove::yield();  // it runs and dies; nobody calls get()
    EXPECT_TRUE(g.ready());
  }  // last handle gone
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("lost-in-the-woods"), std::string::npos) << err;
  EXPECT_NE(err.find("greenlet-"), std::string::npos) << err;
}

TEST(Greenlet, ObservedExceptionIsNotLogged) {
  testing::internal::CaptureStderr();
  {
    auto g = grove::spawn([] { throw std::runtime_error("seen-it"); });
    EXPECT_THROW(g.get(), std::runtime_error);
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("seen-it"), std::string::npos) << err;
}

TEST(Greenlet, FireAndForgetGreenletRunsToCompletion) {
  int done = 0;
  grove::Event finished;
  grove::spawn([&] {
    grove::sleep(1ms);  // parks once, with nobody holding its handle
    ++done;
    finished.set();
  });  // handle dropped at once
  ASSERT_TRUE(finished.wait(5s));
  EXPECT_EQ(done, 1);
}

TEST(Greenlet, NestedSpawnTree) {
  // Each node spawns two children and sums them: 2^12 leaves.
  struct Tree {
    static long run(int depth) {
      if (depth == 0) return 1;
      auto a = grove::spawn(&Tree::run, depth - 1);
      auto b = grove::spawn(&Tree::run, depth - 1);
      return a.get() + b.get();
    }
  };
  EXPECT_EQ(grove::spawn(&Tree::run, 12).get(), 4096);
}

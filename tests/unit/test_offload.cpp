// offload: results and exceptions, real blocking calls overlapping on a bounded pool while
// greenlets keep running, kill/Timeout while waiting (the late result is dropped safely), leaks.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Before the pool reads it (on the first offload).
const bool g_env_set = [] { return ::setenv("GROVE_OFFLOAD_THREADS", "4", 1) == 0; }();

std::size_t count_dir(const char* path) {
  std::size_t n = 0;
  if (DIR* d = ::opendir(path)) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

std::atomic<int> g_tracked_alive{0};
struct Tracked {
  Tracked() { ++g_tracked_alive; }
  Tracked(const Tracked&) { ++g_tracked_alive; }
  Tracked(Tracked&&) noexcept { ++g_tracked_alive; }
  ~Tracked() { --g_tracked_alive; }
};

// Polls a condition with a generous bound, letting other greenlets and the hub run.
template <class P>
bool eventually(P pred, grove::Duration limit = 5s) {
  auto end = grove::Clock::now() + limit;
  while (!pred()) {
    if (grove::Clock::now() > end) return false;
    grove::sleep(1ms);
  }
  return true;
}

}  // namespace

TEST(Offload, ReturnsTheValue) {
  ASSERT_TRUE(g_env_set);
  EXPECT_EQ(grove::offload([] { return 6 * 7; }), 42);
  const auto caller = std::this_thread::get_id();
  auto worker = grove::offload([] { return std::this_thread::get_id(); });
  EXPECT_NE(worker, caller) << "runs on another thread";
  grove::offload([] {});  // void
  EXPECT_EQ(grove::offload_max_threads(), 4u);
}

TEST(Offload, PropagatesExceptions) {
  try {
    grove::offload([]() -> int { throw std::runtime_error("worker failed"); });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "worker failed");
  }
}

TEST(Offload, BlockingCallsOverlapOnFourThreadsWhileGreenletsRun) {
  std::atomic<int> running{0}, max_running{0};
  int ticks = 0;
  bool stop = false;
  auto ticker = grove::spawn([&] {
    while (!stop) {
      grove::sleep(5ms);
      ++ticks;
    }
  });
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<int>> calls;
  for (int i = 0; i < 10; ++i)
    calls.push_back(grove::spawn([&, i] {
      return grove::offload([&running, &max_running, i] {
        int now = ++running;
        int seen = max_running.load();
        while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(200ms);  // a real blocking call on the worker
        --running;
        return i;
      });
    }));
  int sum = 0;
  for (auto& c : calls) sum += c.get();
  auto took = grove::Clock::now() - t0;
  stop = true;
  ticker.join();
  EXPECT_EQ(sum, 45);
  EXPECT_EQ(max_running.load(), 4) << "bounded by GROVE_OFFLOAD_THREADS";
  EXPECT_GE(took, 550ms) << "10 calls on 4 threads need three rounds";
  EXPECT_LT(took, 2s) << "serially it would be 2 s";
  EXPECT_GE(ticks, 30) << "the ticker kept running during the calls";
  EXPECT_LE(grove::offload_threads(), 4u);
}

TEST(Offload, KillWhileWaitingDropsTheLateResultSafely) {
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  auto g = grove::spawn([opened] {
    return grove::offload([opened] {
      opened.wait();
      return Tracked{};
    });
  });
  grove::yield();
  auto t0 = grove::Clock::now();
  g.kill();  // returns at once: the job is still blocked on its worker
  EXPECT_LT(grove::Clock::now() - t0, 500ms);
  EXPECT_TRUE(g.killed());
  gate.set_value();  // now the job finishes; its completion finds nobody waiting
  EXPECT_TRUE(eventually([] { return g_tracked_alive.load() == 0; }));
  EXPECT_EQ(grove::offload([] { return 1; }), 1) << "the hub and the pool are fine afterwards";
}

TEST(Offload, TimeoutScopeInterruptsTheWait) {
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  auto t0 = grove::Clock::now();
  {
    grove::Timeout t(30ms);
    EXPECT_THROW(grove::offload([opened] { opened.wait(); }), grove::TimeoutError);
  }
  EXPECT_LT(grove::Clock::now() - t0, 500ms);
  gate.set_value();
  // The abandoned job still counts as outstanding work until it completes: a later wait that
  // depends on nothing else must not be reported as blocked forever meanwhile.
  EXPECT_EQ(grove::offload([] { return 2; }), 2);
}

TEST(Offload, AlreadyInterruptedCallerDoesNotStartTheJob) {
  std::atomic<bool> ran{false};
  grove::Timeout t(0ms);
  EXPECT_THROW(grove::offload([&] { ran = true; }), grove::TimeoutError);
  EXPECT_FALSE(ran.load());
}

TEST(Offload, WorksFromSeveralHubThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> total{0};
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&total, t] {
      std::vector<grove::Greenlet<void>> gs;
      for (int i = 0; i < 20; ++i)
        gs.push_back(grove::spawn([&total, t, i] { total += grove::offload([t, i] { return t * 100 + i; }); }));
      grove::joinall(gs);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(total.load(), 3 * 190 + 100 * 20 + 200 * 20);
}

TEST(Offload, TenThousandCallsLeakNoThreadsOrFds) {
  auto batch = [] {
    std::vector<grove::Greenlet<long>> gs;
    for (int g = 0; g < 100; ++g)
      gs.push_back(grove::spawn([g] {
        long sum = 0;
        for (int i = 0; i < 50; ++i) sum += grove::offload([g, i] { return long{g} * i; });
        return sum;
      }));
    long total = 0;
    for (auto& g : gs) total += g.get();
    return total;
  };
  const long expected = 1225L * 4950;  // sum(i<50) * sum(g<100)
  EXPECT_EQ(batch(), expected);       // 5k: warms the pool up to its maximum
  const std::size_t threads = count_dir("/proc/self/task");
  const std::size_t fds = count_dir("/proc/self/fd");
  EXPECT_EQ(batch(), expected);  // 5k more
  EXPECT_EQ(count_dir("/proc/self/task"), threads);
  EXPECT_EQ(count_dir("/proc/self/fd"), fds);
  EXPECT_LE(grove::offload_threads(), 4u);
}

// Stacks: guard pages that catch overflow, mappings that do not split, recycling, sizes.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "stack.hpp"

using namespace std::chrono_literals;

namespace {

std::size_t count_mappings() {
  std::ifstream maps("/proc/self/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

int recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  return depth > 100'000'000 ? frame[0] : recurse(depth + 1) + frame[0];
}

}  // namespace

TEST(StackDeathTest, OverflowIsReportedWithNameAndSize) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto g = grove::spawn(grove::SpawnOptions{.name = "deep-recursion", .stack_size = 64 * 1024},
                              [] { return recurse(0); });
        g.join();
      },
      "stack overflow in greenlet 'deep-recursion' \\(stack size 65536 bytes\\)");
}

TEST(Stack, GuardedStacksDoNotSplitMappings) {
  if (grove::detail::running_on_valgrind()) GTEST_SKIP() << "under valgrind: guards are made with mprotect there (two mappings per stack), by design";
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer maps memory of its own for every fiber (greenlet)";
#endif
  if (grove::detail::StackPool::guard_method() == grove::detail::GuardMethod::mprotect)
    GTEST_SKIP() << "kernel without MADV_GUARD_INSTALL: each stack costs two mappings";
  grove::yield();  // hub up, with its own stack
  const std::size_t before = count_mappings();
  constexpr int n = 5000;  // more than the pool keeps, all alive at once
  grove::Event release;
  int parked = 0;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < n; ++i) gs.push_back(grove::spawn([&] {
    ++parked;
    release.wait();
  }));
  grove::yield();  // every one of them runs up to its wait, each on its own stack
  ASSERT_EQ(parked, n);
  const std::size_t during = count_mappings();
  release.set();
  grove::joinall(gs);
  EXPECT_LT(during - before, static_cast<std::size_t>(n / 10)) << "mappings grew by " << during - before;
}

TEST(Stack, PoolRecyclesStacks) {
  grove::detail::StackPool pool(64 * 1024, 4);
  auto a = pool.acquire();
  char* base = a.base;
  a.top()[-1] = 1;  // usable
  pool.release(a);
  EXPECT_EQ(pool.cached(), 1u);
  auto b = pool.acquire();
  EXPECT_EQ(b.base, base);
  EXPECT_GE(b.usable(), 64u * 1024);
  EXPECT_TRUE(b.in_guard(b.base));
  EXPECT_FALSE(b.in_guard(b.bottom()));
  pool.release(b);
  // A non-default size is not cached.
  pool.release(pool.acquire(256 * 1024));
  EXPECT_EQ(pool.cached(), 1u);
}

TEST(Stack, PerSpawnStackSizeIsHonoured) {
  // 600 KiB of locals would overflow the default stack; with 1 MiB it is fine.
  auto g = grove::spawn(grove::SpawnOptions{.stack_size = 1 << 20}, [] {
    volatile char big[600 * 1024];
    big[0] = 1;
    big[sizeof big - 1] = 2;
    return big[0] + big[sizeof big - 1];
  });
  EXPECT_EQ(g.get(), 3);
}

TEST(Stack, DefaultSizeComesFromEnvironment) {
  ::setenv("GROVE_STACK_SIZE", "256K", 1);
  EXPECT_EQ(grove::detail::default_stack_size(), 256u * 1024);
  ::setenv("GROVE_STACK_SIZE", "1M", 1);
  EXPECT_EQ(grove::detail::default_stack_size(), 1u << 20);
  ::setenv("GROVE_STACK_SIZE", "nonsense", 1);
  EXPECT_EQ(grove::detail::default_stack_size(), 128u * 1024);  // ignored, with a warning
  ::unsetenv("GROVE_STACK_SIZE");
  EXPECT_EQ(grove::detail::default_stack_size(), 128u * 1024);
}

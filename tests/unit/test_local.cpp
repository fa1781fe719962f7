// grove::local: one value per greenlet, made on first access, destroyed as the greenlet ends.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

int g_made = 0, g_destroyed = 0;

struct Counted {
  Counted() { ++g_made; }
  ~Counted() { ++g_destroyed; }
  Counted(const Counted&) = delete;
  int value = 0;
};

}  // namespace

TEST(Local, EachGreenletHasItsOwnValue) {
  grove::local<int> n;
  std::vector<int> seen;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 5; ++i)
    gs.push_back(grove::spawn([&, i] {
      EXPECT_FALSE(n.has_value());
      *n = i;
      grove::yield();  // others write theirs meanwhile
      seen.push_back(*n);
    }));
  grove::joinall(gs);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Local, ConstructedOnFirstAccessAndDestroyedWhenTheGreenletEnds) {
  g_made = g_destroyed = 0;
  grove::local<Counted> c;
  grove::Event go;
  auto g = grove::spawn([&] {
    EXPECT_EQ(g_made, 0);
    c->value = 1;
    c->value += 1;
    EXPECT_EQ(g_made, 1);
    go.wait();
  });
  grove::yield();
  EXPECT_EQ(g_made, 1);
  EXPECT_EQ(g_destroyed, 0);
  go.set();
  g.join();
  EXPECT_EQ(g_destroyed, 1) << "destroyed before the joiner woke";
}

TEST(Local, DestroyedWhenTheGreenletIsKilledOrThrows) {
  g_made = g_destroyed = 0;
  grove::local<Counted> c;
  auto killed = grove::spawn([&] {
    c.get();
    grove::sleep(10s);
  });
  auto thrower = grove::spawn([&] {
    c.get();
    throw std::runtime_error("x");
  });
  grove::yield();
  killed.kill();
  thrower.join();
  (void)thrower.exception();
  EXPECT_EQ(g_made, 2);
  EXPECT_EQ(g_destroyed, 2);
}

TEST(Local, InitializerMakesTheFirstValue) {
  grove::local<std::string> name([] { return std::string("anon"); });
  auto g = grove::spawn([&] {
    EXPECT_EQ(*name, "anon");
    *name = "ann";
    return *name;
  });
  EXPECT_EQ(g.get(), "ann");
  EXPECT_EQ(*name, "anon") << "main has its own value";
}

TEST(Local, ValuesOutliveTheLocalObjectSafely) {
  g_made = g_destroyed = 0;
  grove::Event go;
  grove::Greenlet<void> g;
  {
    grove::local<Counted> c;
    g = grove::spawn([&c, &go] {
      c.get();
      go.wait();  // c is gone by now; its value is this greenlet's until it ends
    });
    grove::yield();
  }
  go.set();
  g.join();
  EXPECT_EQ(g_destroyed, 1);
}

TEST(Local, ManyLocalsPerGreenlet) {
  std::vector<std::unique_ptr<grove::local<int>>> ls;
  for (int i = 0; i < 20; ++i) ls.push_back(std::make_unique<grove::local<int>>());
  auto g = grove::spawn([&] {
    for (int i = 0; i < 20; ++i) **ls[static_cast<std::size_t>(i)] = i;
    int sum = 0;
    for (auto& l : ls) sum += **l;
    return sum;
  });
  EXPECT_EQ(g.get(), 190);
}

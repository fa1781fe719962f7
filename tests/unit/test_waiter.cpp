// The one park/unpark pair (lib/waiter.hpp): generations make stale wakers harmless, the first
// cause of a wake-up wins, a deadline that lost the race never fires later, pending
// interruptions return at once, and WaitList skips waiters that moved on.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <chrono>
#include <cstdint>

#include "greenlet.hpp"
#include "hub.hpp"
#include "waiter.hpp"

using namespace std::chrono_literals;
namespace d = grove::detail;

namespace {

// What a greenlet under test reports about its parks.
struct Parks {
  d::GreenletCore* core = nullptr;
  std::uint64_t gen = 0;  // generation of the current (or last) park
  d::Wake woke = d::Wake::none;
  int ended = 0;  // parks that have returned
};

// Parks the running greenlet once, recording it in p.
void park_once(Parks& p, const char* reason, std::int64_t deadline = d::kNever) {
  p.core = d::Hub::get().current();
  p.gen = p.core->park_gen;
  p.woke = d::park(reason, deadline);
  ++p.ended;
}

}  // namespace

TEST(Waiter, StaleGenerationUnparkDoesNothing) {
  Parks p;
  auto g = grove::spawn([&] {
    park_once(p, "first");
    park_once(p, "second");
  });
  grove::yield();  // g runs up to its first park
  ASSERT_NE(p.core, nullptr);
  ASSERT_TRUE(p.core->is_parked());
  const std::uint64_t first = p.gen;
  EXPECT_TRUE(d::unpark(p.core, first, d::Wake::unparked));
  grove::yield();  // g's first park ends; it parks again
  EXPECT_EQ(p.ended, 1);
  ASSERT_TRUE(p.core->is_parked());
  EXPECT_NE(p.gen, first);
  // A waker kept from the first park (a timer that raced a notify, a list entry not removed).
  EXPECT_FALSE(d::unpark(p.core, first, d::Wake::fd_ready));
  EXPECT_TRUE(p.core->is_parked());
  grove::yield();
  EXPECT_EQ(p.ended, 1) << "a stale unpark woke the greenlet";
  EXPECT_TRUE(d::unpark(p.core, p.gen, d::Wake::unparked));
  g.join();
  EXPECT_EQ(p.ended, 2);
  EXPECT_EQ(p.woke, d::Wake::unparked);
}

TEST(Waiter, FirstCauseWinsAndAKillWaitsForTheNextBlockingCall) {
  Parks p;
  bool reached_next_call = false;
  auto g = grove::spawn([&] {
    park_once(p, "handover");
    reached_next_call = true;
    grove::yield();  // the kill that arrived while g was ready is raised here
  });
  grove::yield();
  ASSERT_TRUE(p.core->is_parked());
  EXPECT_TRUE(d::unpark(p.core, p.gen, d::Wake::unparked));   // a primitive hands something over
  EXPECT_FALSE(d::unpark(p.core, p.gen, d::Wake::fd_ready));  // ready already: too late
  g.kill_nowait();                                             // must not undo the hand-over
  g.join();
  EXPECT_EQ(p.woke, d::Wake::unparked);
  EXPECT_TRUE(reached_next_call);
  EXPECT_TRUE(g.killed());
}

TEST(Waiter, DeadlineThatLostTheRaceNeverFiresLater) {
  Parks p;
  auto g = grove::spawn([&] {
    park_once(p, "with-deadline", d::deadline_after(30ms));
    park_once(p, "without-deadline");
  });
  grove::yield();
  ASSERT_TRUE(p.core->is_parked());
  EXPECT_TRUE(d::unpark(p.core, p.gen, d::Wake::unparked));
  grove::yield();
  ASSERT_EQ(p.ended, 1);
  EXPECT_EQ(p.woke, d::Wake::unparked);
  grove::sleep(60ms);  // past the first park's deadline: the behaviour under test is a time
  EXPECT_EQ(p.ended, 1) << "the first park's deadline woke the second park";
  EXPECT_TRUE(p.core->is_parked());
  EXPECT_TRUE(d::unpark(p.core, p.gen, d::Wake::unparked));
  g.join();
  EXPECT_EQ(p.ended, 2);
}

TEST(Waiter, OwnDeadlineWakesWithDeadline) {
  Parks p;
  auto g = grove::spawn([&] { park_once(p, "short", d::deadline_after(5ms)); });
  g.join();
  EXPECT_EQ(p.woke, d::Wake::deadline);
}

// A park that ends at once does not switch (a greenlet made ready just before does not run
// meanwhile), and it ends its generation like any park: a waker holding it finds it closed.
TEST(Waiter, PendingInterruptionsReturnAtOnce) {
  d::Wake after_kill = d::Wake::none;
  bool bystander_ran_meanwhile = true;
  bool stale_unpark_worked = true;
  bool ran = false;
  grove::Greenlet<void> first_bystander;
  auto g = grove::spawn([&] {
    try {
      grove::yield();  // killed while here
    } catch (const grove::GreenletExit&) {
      d::GreenletCore* self = d::Hub::get().current();
      first_bystander = grove::spawn([&ran] { ran = true; });  // ready: would run if park switched
      const std::uint64_t gen = self->park_gen;
      after_kill = d::park("after-kill", d::deadline_after(10s));
      bystander_ran_meanwhile = ran;
      stale_unpark_worked = d::unpark(self, gen, d::Wake::unparked);
      throw;
    }
  });
  grove::yield();
  g.kill_nowait();
  g.join();
  first_bystander.join();
  EXPECT_EQ(after_kill, d::Wake::killed);
  EXPECT_FALSE(bystander_ran_meanwhile);
  EXPECT_FALSE(stale_unpark_worked);
  EXPECT_TRUE(g.killed());

  // An expired grove::Timeout scope: the park does not even start.
  grove::Timeout t(1ms);
  const auto t0 = grove::Clock::now();
  while (grove::Clock::now() - t0 < 3ms) {
  }  // let the scope expire without parking
  ran = false;
  auto bystander = grove::spawn([&ran] { ran = true; });
  EXPECT_EQ(d::park("expired-scope", d::deadline_after(10s)), d::Wake::scope_timeout);
  EXPECT_FALSE(ran);
  bystander.kill();
}

TEST(Waiter, WaitListSkipsWaitersThatMovedOn) {
  d::WaitList list;
  Parks a, b;
  // a queues itself, parks, is woken by something else and parks again without leaving the list:
  // its entry is stale. b queues itself after a.
  auto ga = grove::spawn([&] {
    d::WaitNode n = d::this_waiter();
    list.push_back(&n);
    park_once(a, "a-first");
    park_once(a, "a-second");  // n stays linked, with the first park's generation
    list.remove(&n);
  });
  auto gb = grove::spawn([&] {
    d::WaitNode n = d::this_waiter();
    d::Wake w = d::park_on(list, n, "b");
    b.woke = w;
    ++b.ended;
  });
  grove::yield();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(d::unpark(a.core, a.gen, d::Wake::unparked));  // a's first park ends some other way
  grove::yield();
  ASSERT_EQ(a.ended, 1);
  d::WaitNode* woken = list.wake_one();
  ASSERT_NE(woken, nullptr);
  grove::yield();
  EXPECT_EQ(b.ended, 1);
  EXPECT_EQ(b.woke, d::Wake::unparked);
  EXPECT_EQ(a.ended, 1) << "the stale entry woke a's second park";
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.wake_one(), nullptr);
  EXPECT_TRUE(d::unpark(a.core, a.gen, d::Wake::unparked));
  ga.join();
  gb.join();
}

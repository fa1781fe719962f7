// grove::mt::Queue, LifoQueue, PriorityQueue and Channel between hubs and plain threads: a
// million items with nothing lost or duplicated, FIFO service across hubs, close and iteration,
// rendezvous, and Timeout and kill racing a cross-hub hand-over in both orders.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "cross_hub.hpp"

using namespace std::chrono_literals;
using namespace cross_hub;

TEST(MtQueue, AMillionItemsBetweenHubsAndThreadsEachDeliveredOnce) {
  constexpr int kPerProducer = 250'000;
  constexpr int kProducers = 4;  // hub 0, hub 1, a plain thread, main
  grove::HubGroup hubs(2);
  grove::mt::Queue<int> q(256);
  std::vector<std::atomic<std::uint8_t>> seen(kPerProducer * kProducers);
  auto produce = [&](int p) {
    for (int i = 0; i < kPerProducer; ++i) q.put(p * kPerProducer + i);
  };
  auto consume = [&] {
    long n = 0;
    for (int v : q) {
      seen[static_cast<std::size_t>(v)].fetch_add(1, std::memory_order_relaxed);
      ++n;
    }
    return n;
  };
  auto c0 = hubs.spawn_on(0, consume);
  auto c1 = hubs.spawn_on(1, consume);
  long plain_consumed = 0;
  std::thread plain_consumer([&] { plain_consumed = consume(); });
  auto p0 = hubs.spawn_on(0, produce, 0);
  auto p1 = hubs.spawn_on(1, produce, 1);
  std::thread plain_producer(produce, 2);
  produce(3);
  p0.get();
  p1.get();
  plain_producer.join();
  q.close();
  const long total = c0.get() + c1.get() + (plain_consumer.join(), plain_consumed);
  EXPECT_EQ(total, long{kPerProducer} * kProducers);
  int lost = 0, doubled = 0;
  for (auto& s : seen) {
    lost += s.load() == 0;
    doubled += s.load() > 1;
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(doubled, 0);
  EXPECT_TRUE(q.empty());
}

TEST(MtQueue, OneProducerOneConsumerKeepOrder) {
  grove::HubGroup hubs(2);
  grove::mt::Queue<int> q(8);
  auto consumer = hubs.spawn_on(1, [&] {
    int expect = 0, wrong = 0;
    for (int v : q) wrong += v != expect++;
    return std::pair{expect, wrong};
  });
  hubs.spawn_on(0, [&] {
    for (int i = 0; i < 100'000; ++i) q.put(i);
    q.close();
  }).get();
  EXPECT_EQ(consumer.get(), std::pair(100'000, 0));
}

TEST(MtQueue, GettersOnSeveralHubsAndThreadsAreServedFifo) {
  grove::HubGroup hubs(2);
  grove::mt::Queue<int> q;
  std::atomic<int> got[3] = {-1, -1, -1};
  auto g0 = hubs.spawn_on(0, [&] { got[0] = q.get(); });
  ASSERT_TRUE(spin_until([&] { return q.getters_waiting() == 1; }));
  auto g1 = hubs.spawn_on(1, [&] { got[1] = q.get(); });
  ASSERT_TRUE(spin_until([&] { return q.getters_waiting() == 2; }));
  std::thread g2([&] { got[2] = q.get(); });
  ASSERT_TRUE(spin_until([&] { return q.getters_waiting() == 3; }));
  for (int v = 10; v < 13; ++v) q.put(v);  // from main
  EXPECT_TRUE(q.empty()) << "every item went straight to a waiting getter";
  g0.get();
  g1.get();
  g2.join();
  EXPECT_EQ(got[0], 10);
  EXPECT_EQ(got[1], 11);
  EXPECT_EQ(got[2], 12);
}

TEST(MtQueue, CloseEndsIterationEverywhereAndFailsParkedPutters) {
  grove::HubGroup hubs(2);
  grove::mt::Queue<int> q(1);
  std::atomic<int> drained{0};
  auto it0 = hubs.spawn_on(0, [&] {
    for (int v : q) drained += v;
  });
  std::thread it1([&] {
    for (int v : q) drained += v;
  });
  ASSERT_TRUE(spin_until([&] { return q.getters_waiting() == 2; }));
  grove::mt::Queue<int> full(1);
  full.put(1);
  auto putter = hubs.spawn_on(1, [&] { full.put(2); });
  ASSERT_TRUE(spin_until([&] { return full.putters_waiting() == 1; }));
  q.put(5);
  q.close();
  full.close();
  it0.get();
  it1.join();
  EXPECT_EQ(drained, 5);
  EXPECT_THROW(putter.get(), grove::QueueClosed);
  EXPECT_EQ(full.size(), 1u) << "the parked putter's item was not queued";
  EXPECT_THROW(q.get(), grove::QueueClosed);
}

TEST(MtChannel, PutParksUntilAGetterOnAnotherHubTakesIt) {
  grove::HubGroup hubs(2);
  grove::mt::Channel<std::unique_ptr<int>> ch;
  std::atomic<bool> put_returned{false};
  auto putter = hubs.spawn_on(0, [&] {
    ch.put(std::make_unique<int>(42));
    put_returned = true;
  });
  ASSERT_TRUE(spin_until([&] { return ch.putters_waiting() == 1; }));
  EXPECT_FALSE(put_returned);
  auto getter = hubs.spawn_on(1, [&] { return *ch.get(); });
  EXPECT_EQ(getter.get(), 42);
  putter.get();
  EXPECT_TRUE(put_returned);
}

TEST(MtLifoAndPriorityQueue, OrderHoldsAcrossHubs) {
  grove::HubGroup hubs(1);
  grove::mt::LifoQueue<int> lifo;
  grove::mt::PriorityQueue<int> prio;
  hubs.spawn_on(0, [&] {
    for (int v : {3, 1, 2}) {
      lifo.put(v);
      prio.put(v);
    }
  }).get();
  EXPECT_EQ(lifo.get(), 2);
  EXPECT_EQ(lifo.get(), 1);
  EXPECT_EQ(prio.get(), 1);
  EXPECT_EQ(prio.get(), 2);
}

// --- Timeout and kill racing a cross-hub hand-over, both orders (cross_hub.hpp) ---------------

TEST(MtQueue, TimeoutThenCrossHubPutLeavesTheItemQueued) {
  grove::HubGroup hubs(2);
  grove::mt::Queue<int> q;
  auto got = race_timeout(
      hubs, First::interruption, [&] { return q.get(5ms); }, [&] { q.put(7); },
      [&] { return q.getters_waiting() == 1; });
  EXPECT_FALSE(got) << "the getter timed out first";
  EXPECT_EQ(q.size(), 1u) << "the item went to the queue, not to the timed-out getter";
}

TEST(MtQueue, CrossHubPutThenTimeoutHandsTheItemOver) {
  grove::HubGroup hubs(2);
  grove::mt::Queue<int> q;
  auto got = race_timeout(
      hubs, First::wake, [&] { return q.get(5ms); }, [&] { q.put(7); }, [&] { return q.getters_waiting() == 1; });
  EXPECT_EQ(got, std::optional<int>(7)) << "handed over before its deadline was noticed: it is the getter's";
  EXPECT_TRUE(q.empty());
}

TEST(MtQueue, KillAndCrossHubPutInBothOrdersLoseNothing) {
  for (KillFrom from : {KillFrom::same_hub, KillFrom::other_thread}) {
    for (First first : {First::interruption, First::wake}) {
      grove::HubGroup hubs(2);
      grove::mt::Queue<int> q;
      std::atomic<int> got{-1};
      auto w = race_kill(
          hubs, first, from, [&] { got = q.get(); }, [&] { q.put(7); }, [&] { return q.getters_waiting() == 1; });
      if (first == First::interruption) {
        EXPECT_EQ(got, -1) << "a getter killed first received the item";
        EXPECT_EQ(q.size(), 1u) << "the item was lost";
      } else {
        EXPECT_EQ(got, 7) << "the item handed over before the kill is the getter's";
        EXPECT_TRUE(q.empty()) << "the item was delivered twice";
      }
    }
  }
}

TEST(MtQueue, KillAndCrossHubGetOfAParkedPutterInBothOrders) {
  for (First first : {First::interruption, First::wake}) {
    grove::HubGroup hubs(2);
    grove::mt::Channel<int> ch;
    std::atomic<bool> put_returned{false};
    std::atomic<int> taken{-1};
    race_kill(
        hubs, first, KillFrom::same_hub,
        [&] {
          ch.put(9);
          put_returned = true;
        },
        [&] {
          if (auto v = ch.try_get()) taken = *v;
        },
        [&] { return ch.putters_waiting() == 1; });
    if (first == First::interruption) {
      EXPECT_FALSE(put_returned);
      EXPECT_EQ(taken, -1) << "a killed putter's item was taken";
    } else {
      EXPECT_TRUE(put_returned) << "the item was taken: the put succeeded";
      EXPECT_EQ(taken, 9);
    }
  }
}

TEST(MtQueueDeathTest, AHubLocalQueueUsedFromTwoHubsIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        grove::HubGroup hubs(2);
        grove::Queue<int> q;  // hub-local
        auto g = hubs.spawn_on(0, [&] { return q.get(); });
        while (q.getters_waiting() == 0) {
        }
        hubs.spawn_on(1, [&] { q.put(1); }).get();
      },
      "grove::Queue used by two threads.*grove::mt::");
}

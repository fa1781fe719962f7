// Queue, Channel, LifoQueue, PriorityQueue: order, capacity, hand-over, timeouts, kill, close.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST(Queue, FifoAndUnbounded) {
  grove::Queue<int> q;
  for (int i = 0; i < 1000; ++i) q.put(i);  // never blocks
  EXPECT_EQ(q.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(q.get(), i);
  EXPECT_FALSE(q.try_get());
}

TEST(Queue, CapacityZeroIsAUsageError) { EXPECT_THROW(grove::Queue<int>(0), grove::UsageError); }

TEST(Queue, BoundedPutParksUntilThereIsRoomAndKeepsOrder) {
  grove::Queue<int> q(2);
  bool third_done = false;
  auto putter = grove::spawn([&] {
    q.put(1);
    q.put(2);
    q.put(3);  // parks: full
    third_done = true;
  });
  grove::yield();
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(third_done);
  EXPECT_EQ(q.putters_waiting(), 1u);
  EXPECT_FALSE(q.try_put(99));
  EXPECT_EQ(q.get(), 1);  // lets the parked item in, at the tail
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.get(), 2);
  EXPECT_EQ(q.get(), 3);
  putter.join();
  EXPECT_TRUE(third_done);
  EXPECT_TRUE(q.empty()) << "each item is queued exactly once";
}

TEST(Queue, GettersAreServedFifo) {
  grove::Queue<int> q;
  std::vector<std::pair<int, int>> got;  // (getter, item)
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 4; ++i) gs.push_back(grove::spawn([&, i] { got.emplace_back(i, q.get()); }));
  grove::yield();
  EXPECT_EQ(q.getters_waiting(), 4u);
  for (int v = 10; v < 14; ++v) q.put(v);
  EXPECT_TRUE(q.empty()) << "items go straight to the waiting getters";
  EXPECT_FALSE(q.try_get()) << "no barging past a getter that was handed an item";
  grove::joinall(gs);
  EXPECT_EQ(got, (std::vector<std::pair<int, int>>{{0, 10}, {1, 11}, {2, 12}, {3, 13}}));
}

TEST(Queue, PuttersAreServedFifo) {
  grove::Queue<int> q(1);
  q.put(0);
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 1; i <= 4; ++i) gs.push_back(grove::spawn([&q, i] { q.put(i); }));
  grove::yield();
  std::vector<int> got;
  for (int i = 0; i < 5; ++i) got.push_back(q.get());
  grove::joinall(gs);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Queue, Timeouts) {
  grove::Queue<std::string> q(1);
  auto t0 = grove::Clock::now();
  EXPECT_FALSE(q.get(20ms));
  EXPECT_GE(grove::Clock::now() - t0, 20ms);
  q.put("a");
  std::string item = "keep me";
  EXPECT_FALSE(q.put(std::move(item), 10ms));
  EXPECT_EQ(item, "keep me") << "an item that was not queued is left with the caller";
  EXPECT_FALSE(q.try_put(std::move(item)));
  EXPECT_EQ(item, "keep me");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.putters_waiting(), 0u);
  EXPECT_EQ(*q.get(1ms), "a");
  {
    grove::Timeout t(10ms);
    EXPECT_THROW(q.get(), grove::TimeoutError);
  }
  EXPECT_EQ(q.getters_waiting(), 0u);
}

TEST(Queue, CloseDrainsThenEnds) {
  grove::Queue<int> q;
  q.put(1);
  q.put(2);
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_THROW(q.put(3), grove::QueueClosed);
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.try_get(), 2);
  EXPECT_FALSE(q.try_get());
  EXPECT_THROW(q.get(), grove::QueueClosed);
  EXPECT_THROW(q.get(1s), grove::QueueClosed);
}

TEST(Queue, CloseWakesParkedGettersAndPutters) {
  grove::Queue<int> q(1);
  grove::Queue<int> empty;
  int getter_closed = 0, putter_closed = 0;
  auto g1 = grove::spawn([&] {
    try {
      empty.get();
    } catch (const grove::QueueClosed&) {
      ++getter_closed;
    }
  });
  q.put(0);
  auto p1 = grove::spawn([&] {
    try {
      q.put(1);
    } catch (const grove::QueueClosed&) {
      ++putter_closed;
    }
  });
  grove::yield();
  empty.close();
  q.close();
  g1.join();
  p1.join();
  EXPECT_EQ(getter_closed, 1);
  EXPECT_EQ(putter_closed, 1);
  EXPECT_EQ(q.get(), 0);
  EXPECT_THROW(q.get(), grove::QueueClosed) << "the parked putter's item was not queued";
}

TEST(Queue, RangeForEndsWhenClosedAndDrained) {
  grove::Queue<int> q(3);
  auto producer = grove::spawn([&] {
    for (int i = 0; i < 50; ++i) q.put(i);
    q.close();
  });
  std::vector<int> got;
  for (int& v : q) got.push_back(v);
  producer.join();
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
}

TEST(Queue, KilledGetterLosesNoItem) {
  grove::Queue<int> q;
  auto g = grove::spawn([&] { q.get(); });
  grove::yield();
  g.kill();
  q.put(7);
  EXPECT_EQ(q.size(), 1u) << "the item must not go to the killed getter";
  EXPECT_EQ(q.get(), 7);
}

TEST(Queue, ItemHandedOverBeforeAKillIsTheGettersOwn) {
  grove::Queue<int> q;
  int got = -1;
  bool exited = false;
  auto g = grove::spawn([&] {
    got = q.get();
    try {
      grove::sleep(10s);
    } catch (const grove::GreenletExit&) {
      exited = true;
      throw;
    }
  });
  grove::yield();
  q.put(5);        // straight into g's hands
  g.kill_nowait(); // before g runs
  g.join();
  EXPECT_EQ(got, 5);
  EXPECT_TRUE(exited);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, KilledPutterQueuesNothing) {
  grove::Queue<int> q(1);
  q.put(1);
  auto p = grove::spawn([&] { q.put(2); });
  grove::yield();
  p.kill();
  EXPECT_EQ(q.putters_waiting(), 0u);
  EXPECT_EQ(q.get(), 1);
  EXPECT_FALSE(q.try_get());
}

TEST(Queue, PutterWhoseItemWasTakenBeforeAKillSucceeds) {
  grove::Queue<int> q(1);
  q.put(1);
  bool put_returned = false;
  auto p = grove::spawn([&] {
    q.put(2);
    put_returned = true;
  });
  grove::yield();
  EXPECT_EQ(q.get(), 1);  // admits 2 from p
  p.kill_nowait();
  p.join();
  EXPECT_TRUE(put_returned);
  EXPECT_EQ(q.get(), 2);
}

TEST(Queue, MoveOnlyItems) {
  grove::Queue<std::unique_ptr<int>> q(1);
  auto g = grove::spawn([&] {
    for (int i = 0; i < 3; ++i) q.put(std::make_unique<int>(i));
  });
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*q.get(), i);
  g.join();
}

TEST(Queue, ThousandGreenletsDeliverEveryItemExactlyOnce) {
  constexpr int kProducers = 500, kConsumers = 500, kPerProducer = 40;
  grove::Queue<int> q(16);
  std::vector<int> seen(kProducers * kPerProducer, 0);
  std::size_t max_size = 0;
  std::vector<grove::Greenlet<void>> producers, consumers;
  for (int p = 0; p < kProducers; ++p)
    producers.push_back(grove::spawn([&, p] {
      for (int i = 0; i < kPerProducer; ++i) q.put(p * kPerProducer + i);
    }));
  for (int c = 0; c < kConsumers; ++c)
    consumers.push_back(grove::spawn([&] {
      for (int v : q) {
        ++seen[static_cast<std::size_t>(v)];
        max_size = std::max(max_size, q.size());
        if (v % 3 == 0) grove::yield();
      }
    }));
  grove::joinall(producers);
  q.close();
  grove::joinall(consumers);
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << "item " << i;
  EXPECT_LE(max_size, 16u);
  EXPECT_TRUE(q.empty());
}

TEST(Channel, PutParksUntilAGetterTakesTheItem) {
  grove::Channel<int> ch;
  EXPECT_FALSE(ch.try_put(1)) << "nobody is waiting to take it";
  std::vector<int> trace;
  auto putter = grove::spawn([&] {
    ch.put(1);
    trace.push_back(-1);  // only after the hand-over
  });
  grove::yield();
  EXPECT_EQ(ch.putters_waiting(), 1u);
  EXPECT_EQ(ch.size(), 0u);
  trace.push_back(ch.get());
  putter.join();
  EXPECT_EQ(trace, (std::vector<int>{1, -1}));
  auto getter = grove::spawn([&] { trace.push_back(ch.get()); });
  grove::yield();
  EXPECT_TRUE(ch.try_put(2)) << "a getter waits";
  getter.join();
  EXPECT_EQ(trace.back(), 2);
}

TEST(Channel, CloseEndsIteration) {
  grove::Channel<int> ch;
  auto producer = grove::spawn([&] {
    for (int i = 0; i < 10; ++i) ch.put(i);
    ch.close();
  });
  int sum = 0;
  for (int v : ch) sum += v;
  producer.join();
  EXPECT_EQ(sum, 45);
}

TEST(PriorityQueue, SmallestFirst) {
  grove::PriorityQueue<int> q;
  for (int v : {5, 1, 4, 2, 3}) q.put(v);
  std::vector<int> got;
  while (auto v = q.try_get()) got.push_back(*v);
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 4, 5}));
  grove::PriorityQueue<int, std::greater<int>> maxq(3);
  for (int v : {1, 3, 2}) maxq.put(v);
  EXPECT_EQ(maxq.get(), 3);
}

TEST(LifoQueue, NewestFirst) {
  grove::LifoQueue<int> q;
  for (int v : {1, 2, 3}) q.put(v);
  EXPECT_EQ(q.get(), 3);
  EXPECT_EQ(q.get(), 2);
  EXPECT_EQ(q.get(), 1);
}

TEST(Channel, KilledPutterOffersNothing) {
  grove::Channel<int> ch;
  auto p = grove::spawn([&] { ch.put(1); });
  grove::yield();
  EXPECT_EQ(ch.putters_waiting(), 1u);
  p.kill();
  EXPECT_EQ(ch.putters_waiting(), 0u);
  EXPECT_FALSE(ch.try_get());
  EXPECT_FALSE(ch.get(5ms));
}

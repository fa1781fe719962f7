// TimerHeap: ordering, ties in insertion order, cancel anywhere in the heap.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "timer_heap.hpp"

using grove::detail::TimerHeap;
using grove::detail::TimerNode;

TEST(TimerHeap, PopsInDeadlineOrderAndTiesInInsertionOrder) {
  TimerHeap h;
  std::vector<TimerNode> nodes(6);
  const std::int64_t deadlines[] = {50, 10, 30, 10, 50, 20};
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].owner = &nodes[i];
    h.insert(&nodes[i], deadlines[i]);
  }
  std::vector<TimerNode*> order;
  while (TimerNode* n = h.pop_due(100)) order.push_back(n);
  std::vector<TimerNode*> expected = {&nodes[1], &nodes[3], &nodes[5], &nodes[2], &nodes[0], &nodes[4]};
  EXPECT_EQ(order, expected);
  EXPECT_TRUE(h.empty());
}

TEST(TimerHeap, PopDueLeavesFutureTimers) {
  TimerHeap h;
  TimerNode a, b;
  h.insert(&a, 10);
  h.insert(&b, 20);
  EXPECT_EQ(h.pop_due(15), &a);
  EXPECT_EQ(h.pop_due(15), nullptr);
  EXPECT_TRUE(b.scheduled());
  EXPECT_FALSE(a.scheduled());
}

TEST(TimerHeap, CancelFromAnywhereKeepsOrderRandomised) {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    TimerHeap h;
    std::vector<TimerNode> nodes(200);
    std::uniform_int_distribution<std::int64_t> d(0, 1000);
    for (auto& n : nodes) h.insert(&n, d(rng));
    std::vector<TimerNode*> kept;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (i % 3 == 0)
        h.cancel(&nodes[i]);
      else
        kept.push_back(&nodes[i]);
    }
    h.cancel(&nodes[0]);  // twice: no-op
    ASSERT_EQ(h.size(), kept.size());
    std::int64_t last = -1;
    std::size_t popped = 0;
    while (TimerNode* n = h.pop_due(INT64_MAX)) {
      ASSERT_GE(n->deadline, last);
      last = n->deadline;
      ++popped;
    }
    EXPECT_EQ(popped, kept.size());
  }
}

TEST(TimerHeap, ReinsertReschedules) {
  TimerHeap h;
  TimerNode a, b;
  h.insert(&a, 10);
  h.insert(&b, 20);
  h.insert(&a, 30);  // moves a after b
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.pop_due(100), &b);
  EXPECT_EQ(h.pop_due(100), &a);
}

// Inbox: the MPSC queue alone (several producer threads, every node once and in each producer's
// order) and the sleep handshake (a push that finds the consumer asleep asks for exactly one
// eventfd write per sleep).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "inbox.hpp"

namespace d = grove::detail;

namespace {

struct Item : d::InboxNode {
  int producer = 0;
  int seq = 0;
};

}  // namespace

TEST(Inbox, EveryNodeOnceInEachProducersOrder) {
  constexpr int kProducers = 4;
  constexpr int kEach = 100'000;
  d::Inbox inbox;
  std::vector<std::unique_ptr<Item[]>> items;
  for (int p = 0; p < kProducers; ++p) items.push_back(std::make_unique<Item[]>(kEach));
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      while (!go.load()) {
      }
      for (int i = 0; i < kEach; ++i) {
        items[p][i].producer = p;
        items[p][i].seq = i;
        inbox.push(&items[p][i]);
      }
    });
  go = true;
  std::vector<int> next(kProducers, 0);
  int taken = 0;
  while (taken < kProducers * kEach) {
    d::InboxNode* n = inbox.pop();
    if (!n) continue;  // a push is mid-way, or nothing yet
    auto* it = static_cast<Item*>(n);
    ASSERT_EQ(it->seq, next[it->producer]) << "producer " << it->producer << "'s nodes out of order or twice";
    ++next[it->producer];
    ++taken;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(inbox.pop(), nullptr);
  EXPECT_TRUE(inbox.idle());
}

TEST(Inbox, IdleOnlyWhenEverythingWasTaken) {
  d::Inbox inbox;
  EXPECT_TRUE(inbox.idle());
  Item a, b;
  inbox.push(&a);
  EXPECT_FALSE(inbox.idle());
  inbox.push(&b);
  EXPECT_EQ(inbox.pop(), &a);
  EXPECT_FALSE(inbox.idle());
  EXPECT_EQ(inbox.pop(), &b);
  EXPECT_EQ(inbox.pop(), nullptr);
  EXPECT_TRUE(inbox.idle());
  inbox.push(&a);  // a node may go round again once it was taken
  EXPECT_EQ(inbox.pop(), &a);
  EXPECT_TRUE(inbox.idle());
}

TEST(Inbox, ThePushThatFindsTheConsumerAsleepNotifiesOncePerSleep) {
  d::Inbox inbox;
  Item a, b, c;
  EXPECT_FALSE(inbox.push(&a)) << "awake: no eventfd write";
  EXPECT_FALSE(inbox.begin_sleep()) << "something is queued: do not block";
  inbox.end_sleep();
  while (inbox.pop()) {
  }
  EXPECT_TRUE(inbox.begin_sleep());
  EXPECT_TRUE(inbox.asleep());
  EXPECT_TRUE(inbox.push(&b)) << "asleep: the first producer writes the eventfd";
  EXPECT_FALSE(inbox.push(&c)) << "already notified: the others need not";
  inbox.end_sleep();
  EXPECT_FALSE(inbox.asleep());
  EXPECT_EQ(inbox.pop(), &b);
  EXPECT_EQ(inbox.pop(), &c);
}

// The Dekker handshake under contention: a consumer that decides to block (it found the inbox
// idle after announcing its sleep) is owed a notify by the push that comes — never neither.
TEST(Inbox, NoPushIsMissedByASleepingConsumer) {
  constexpr int kRounds = 100'000;
  d::Inbox inbox;
  std::vector<Item> items(kRounds);
  std::atomic<int> notified{0};
  std::atomic<int> round{-1};
  std::thread producer([&] {
    for (int r = 0; r < kRounds; ++r) {
      while (round.load() < r) {
      }
      if (inbox.push(&items[r])) notified.fetch_add(1);
    }
  });
  int missed = 0, blocked = 0;
  for (int r = 0; r < kRounds; ++r) {
    const int seen = notified.load();
    round.store(r);  // the producer pushes now, racing the handshake below
    if (inbox.begin_sleep()) {
      // The real hub would block in epoll_wait here: only the producer's notify can end it.
      ++blocked;
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (notified.load() == seen && std::chrono::steady_clock::now() < end) {
      }
      if (notified.load() == seen) ++missed;
    }
    inbox.end_sleep();
    while (!inbox.pop()) {
    }
  }
  producer.join();
  EXPECT_EQ(missed, 0);
  RecordProperty("blocked_rounds", blocked);
}

// grove::mt::Mutex and grove::mt::CondVar between hubs and plain threads: exclusion, ownership
// handed over FIFO across hubs, no notify lost between releasing the mutex and parking, and
// Timeout and kill racing a cross-hub unlock or notify in both orders.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "cross_hub.hpp"

using namespace std::chrono_literals;
using namespace cross_hub;

TEST(MtMutex, ExcludesGreenletsOfSeveralHubsAndPlainThreads) {
  grove::HubGroup hubs(2);
  grove::mt::Mutex m;
  long counter = 0;  // plain: only ever touched under m
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  auto work = [&] {
    for (int i = 0; i < 20'000; ++i) {
      std::lock_guard lock(m);
      if (++inside != 1) overlap = true;
      ++counter;
      if (i % 100 == 0) grove::yield();  // held across a switch
      --inside;
    }
  };
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < 4; ++i) gs.push_back(hubs.spawn_on(static_cast<std::size_t>(i % 2), work));
  std::thread plain(work);
  for (auto& g : gs) g.get();
  plain.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(counter, 5 * 20'000);
  EXPECT_FALSE(m.locked());
}

TEST(MtMutex, UnlockHandsOwnershipToTheWaiterOnAnotherHub) {
  grove::HubGroup hubs(1);
  grove::mt::Mutex m;
  m.lock();  // main
  std::atomic<bool> got{false};
  auto g = hubs.spawn_on(0, [&] {
    std::lock_guard lock(m);
    got = true;
    EXPECT_TRUE(m.held());
  });
  ASSERT_TRUE(spin_until([&] { return m.locked() && !got; }));
  EXPECT_THROW(hubs.spawn_on(0, [&] { m.unlock(); }).get(), grove::UsageError) << "only the owner may unlock";
  m.unlock();
  g.get();
  EXPECT_TRUE(got);
  EXPECT_FALSE(m.locked());
}

TEST(MtMutex, TimeoutAndCrossThreadUnlockInBothOrders) {
  for (First first : {First::interruption, First::wake}) {
    grove::HubGroup hubs(2);
    grove::mt::Mutex m;
    Flag locked, release, unlocked;
    std::thread holder([&] {  // a plain thread holds the mutex until told
      m.lock();
      locked.raise();
      release.wait();
      m.unlock();  // hands it to the waiter on hub 0, unless the waiter gave up first
      unlocked.raise();
    });
    ASSERT_TRUE(locked.wait());
    const bool got = race_timeout(
        hubs, first,
        [&] {
          const bool ok = m.try_lock_for(5ms);
          if (ok) m.unlock();
          return ok;
        },
        [&] {
          release.raise();
          EXPECT_TRUE(unlocked.wait());
        },
        [] { return true; });  // W parks at X's first yield (race_timeout)
    holder.join();
    EXPECT_EQ(got, first == First::wake);
    EXPECT_FALSE(m.locked()) << "ownership lost to a waiter that gave up, or never given back";
  }
}

TEST(MtCondVar, ProducerConsumerAcrossHubsLosesNoNotify) {
  grove::HubGroup hubs(2);
  grove::mt::Mutex m;
  grove::mt::CondVar cv;
  std::deque<int> items;
  bool done = false;
  constexpr int kItems = 20'000;
  auto consumer = [&] {
    long sum = 0;
    std::unique_lock lock(m);
    for (;;) {
      cv.wait(lock, [&] { return !items.empty() || done; });
      if (items.empty()) return sum;
      sum += items.front();
      items.pop_front();
    }
  };
  auto c0 = hubs.spawn_on(0, consumer);
  long plain_sum = 0;
  std::thread c1([&] { plain_sum = consumer(); });
  hubs.spawn_on(1, [&] {
    for (int i = 1; i <= kItems; ++i) {
      std::lock_guard lock(m);
      items.push_back(i);
      cv.notify_one();
    }
    std::lock_guard lock(m);
    done = true;
    cv.notify_all();
  }).get();
  const long total = c0.get() + (c1.join(), plain_sum);
  EXPECT_EQ(total, long{kItems} * (kItems + 1) / 2);
}

TEST(MtCondVar, NotifyRacingTimeoutInBothOrders) {
  for (First first : {First::interruption, First::wake}) {
    grove::HubGroup hubs(2);
    grove::mt::Mutex m;
    grove::mt::CondVar cv;
    const bool notified = race_timeout(
        hubs, first,
        [&] {
          std::unique_lock lock(m);
          const bool ok = cv.wait_for(lock, 5ms) == std::cv_status::no_timeout;
          EXPECT_TRUE(m.held()) << "wait returned without the lock";
          return ok;
        },
        [&] { cv.notify_one(); }, [&] { return cv.waiting() == 1; });
    EXPECT_EQ(notified, first == First::wake);
    EXPECT_FALSE(m.locked());
  }
}

TEST(MtCondVar, KillRacingACrossHubNotifyReturnsWithTheLockHeld) {
  for (First first : {First::interruption, First::wake}) {
    grove::HubGroup hubs(2);
    grove::mt::Mutex m;
    grove::mt::CondVar cv;
    std::atomic<bool> returned{false};
    race_kill(
        hubs, first, KillFrom::other_thread,
        [&] {
          std::unique_lock lock(m);
          try {
            cv.wait(lock);
          } catch (const grove::GreenletExit&) {
            EXPECT_TRUE(m.held()) << "wait threw without the lock";
            throw;
          }
          returned = true;
        },
        [&] { cv.notify_one(); }, [&] { return cv.waiting() == 1; });
    EXPECT_EQ(returned, first == First::wake);
    EXPECT_FALSE(m.locked()) << "the unwinding greenlet kept the mutex";
  }
}

TEST(MtMutex, KillAndCrossThreadUnlockInBothOrders) {
  for (First first : {First::interruption, First::wake}) {
    grove::HubGroup hubs(2);
    grove::mt::Mutex m;
    Flag locked, release, unlocked;
    std::thread holder([&] {
      m.lock();
      locked.raise();
      release.wait();
      m.unlock();
      unlocked.raise();
    });
    ASSERT_TRUE(locked.wait());
    std::atomic<bool> got{false};
    race_kill(
        hubs, first, KillFrom::other_thread,
        [&] {
          m.lock();
          got = true;
          std::lock_guard held(m, std::adopt_lock);
          grove::sleep(1h);  // the kill arrives here; unwinding unlocks
        },
        [&] {
          release.raise();
          EXPECT_TRUE(unlocked.wait());
        },
        [] { return true; });
    holder.join();
    EXPECT_EQ(got, first == First::wake) << "ownership went to a killed waiter, or was lost";
    EXPECT_FALSE(m.locked()) << "the mutex stayed locked";
  }
}

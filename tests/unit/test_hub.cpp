// The hub: would-block-forever, per-thread hubs, exception state across switches, posting.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <exception>
#include <fstream>
#include <string>
#include <stdexcept>
#include <thread>

#include "hub.hpp"
#include "waiter.hpp"

using namespace std::chrono_literals;

TEST(Hub, JoiningAGreenletThatWaitsForeverIsReportedNotHung) {
  grove::detail::WaitList never_notified;
  auto g = grove::spawn(grove::SpawnOptions{.name = "stuck"}, [&] {
    grove::detail::WaitNode n = grove::detail::this_waiter();
    grove::detail::Wake w = grove::detail::park_on(never_notified, n, "test-wait");
    grove::detail::raise_if_interrupted(w);
  });
  try {
    g.join();
    FAIL() << "join returned although nothing could finish the greenlet";
  } catch (const grove::BlockedForever& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("would block forever"), std::string::npos) << what;
    EXPECT_NE(what.find("'main'"), std::string::npos) << what;
    EXPECT_NE(what.find("'stuck' in 'test-wait'"), std::string::npos) << what;
  }
  g.kill();
  EXPECT_TRUE(g.killed());
}

TEST(Hub, MutualJoinIsReportedAsBlockedForever) {
  auto main_greenlet = grove::current();
  auto g = grove::spawn(grove::SpawnOptions{.name = "joins-main"}, [main_greenlet] { main_greenlet.join(); });
  EXPECT_THROW(g.join(), grove::BlockedForever);
  EXPECT_FALSE(g.ready());
  g.kill();  // the report does not disturb the other greenlet: it is still parked, and killable
  EXPECT_TRUE(g.killed());
}

TEST(Hub, WaitingOnAFdIsNotBlockedForever) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto writer = grove::spawn_later(30ms, [&] { grove::write(fds[1], "x", 1); });
  char c;
  EXPECT_EQ(grove::read(fds[0], &c, 1), 1u);  // parks on the fd; the timer keeps the hub alive
  writer.join();
  grove::close(fds[0]);
  grove::close(fds[1]);
}

TEST(Hub, EachThreadHasItsOwnHub) {
  std::atomic<int> total{0};
  auto work = [&] {
    std::vector<grove::Greenlet<int>> gs;
    for (int i = 0; i < 100; ++i) gs.push_back(grove::spawn([i] {
      grove::sleep(10ms);
      return i;
    }));
    int sum = 0;
    for (auto& g : gs) sum += g.get();
    total += sum;
    EXPECT_NE(grove::detail::Hub::get_if(), nullptr);
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 2 * 4950);
}

namespace {

// The system call a thread of this process is blocked in, or -1 while it runs (or if the kernel
// does not say): /proc/self/task/TID/syscall starts with the number, or "running".
long blocked_syscall(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string first;
  if (!(f >> first) || first.empty() || !std::isdigit(static_cast<unsigned char>(first[0]))) return -1;
  return std::stol(first);
}

}  // namespace

TEST(Hub, PostFromAnotherThreadWakesTheHub) {
  auto& hub = grove::detail::Hub::get();
  grove::detail::WaitList list;
  grove::detail::WaitNode node = grove::detail::this_waiter();
  const pid_t hub_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  hub.hold_external();
  std::atomic<bool> saw_epoll{false};
  std::thread other([&] {
    // Post only once the hub thread is asleep in epoll: then the post itself must wake it.
    for (int i = 0; i < 5000 && !saw_epoll; ++i) {
      const long nr = blocked_syscall(hub_tid);
      saw_epoll = nr == SYS_epoll_pwait2 || nr == SYS_epoll_pwait || nr == SYS_epoll_wait;
      if (!saw_epoll) std::this_thread::sleep_for(1ms);
    }
    hub.post([&hub, &list] {
      hub.release_external();
      list.wake_one();
    });
  });
  auto t0 = grove::Clock::now();
  // Bounded: a post that failed to wake the hub ends in the deadline, not in a hung test.
  const grove::detail::Wake w = grove::detail::park_on(list, node, "post-test", grove::detail::deadline_after(10s));
  other.join();
  EXPECT_TRUE(saw_epoll) << "the hub thread was never seen blocked in epoll_wait";
  EXPECT_EQ(w, grove::detail::Wake::unparked);
  EXPECT_LT(grove::Clock::now() - t0, 10s);
}

// The C++ runtime keeps "exceptions being handled" per thread; each greenlet must see its own.
// The two greenlets take turns inside their catch blocks, in an order the Events fix.
TEST(Hub, ExceptionStateIsPerGreenlet) {
  int rethrown_ok = 0;
  int uncaught_seen_by_other = -1;
  grove::Event a_in_catch, b_in_catch, a_done;
  auto a = grove::spawn([&] {
    try {
      throw std::runtime_error("from-a");
    } catch (...) {
      a_in_catch.set();
      b_in_catch.wait();  // park inside the catch block while b is inside its own
      try {
        throw;  // must rethrow a's exception, not whatever b was handling
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "from-a") ++rethrown_ok;
      }
    }
    a_done.set();
  });
  auto b = grove::spawn([&] {
    a_in_catch.wait();  // a is parked in its catch block now
    uncaught_seen_by_other = std::uncaught_exceptions();
    try {
      throw std::logic_error("from-b");
    } catch (...) {
      b_in_catch.set();
      a_done.wait();  // a resumes and rethrows while b is in its catch block
      try {
        throw;
      } catch (const std::logic_error& e) {
        if (std::string(e.what()) == "from-b") ++rethrown_ok;
      }
    }
  });
  a.get();
  b.get();
  EXPECT_EQ(rethrown_ok, 2);
  EXPECT_EQ(uncaught_seen_by_other, 0);
}

TEST(Hub, ParkingInADestructorDuringUnwindingKeepsUncaughtCount) {
  int inside = -1, other = -1;
  grove::Event a_parked, b_looked;
  auto a = grove::spawn([&] {
    struct Parker {
      int& seen;
      grove::Event& parked;
      grove::Event& go_on;
      ~Parker() {
        parked.set();
        go_on.wait();  // parks while an exception is in flight through this frame
        seen = std::uncaught_exceptions();
      }
    };
    try {
      Parker p{inside, a_parked, b_looked};
      throw std::runtime_error("unwinding");
    } catch (const std::runtime_error&) {
    }
  });
  auto b = grove::spawn([&] {
    a_parked.wait();
    other = std::uncaught_exceptions();
    b_looked.set();
  });
  a.get();
  b.get();
  EXPECT_EQ(inside, 1);
  EXPECT_EQ(other, 0);
}

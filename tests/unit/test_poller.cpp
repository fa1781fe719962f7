// The Poller's contract (lib/poller.hpp), checked on a Poller of the test's own, with real pipes,
// socket pairs, eventfds and files: edge-triggered reports, readiness that holds at add() time,
// errors and hang-ups as both directions, -EPERM for regular files, remove(), notify() from
// another thread or before the wait, sub-millisecond timeouts, more events than one batch, and a
// fresh instance after renew().
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <string>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "poller.hpp"
#include "stack.hpp"  // running_on_valgrind

using namespace std::chrono_literals;
using grove::detail::PollEvent;
using grove::detail::Poller;

namespace {

using Clock = std::chrono::steady_clock;

// Events of one wait, by token.
std::map<std::uint64_t, PollEvent> wait_once(Poller& p, std::int64_t timeout_ns) {
  std::map<std::uint64_t, PollEvent> got;
  p.wait(timeout_ns, [&](const PollEvent& e) { got[e.token] = e; });
  return got;
}

// The system call a thread of this process is blocked in, or -1 while it runs (or if the kernel
// does not say): /proc/self/task/TID/syscall starts with the number, or "running". (The same
// helper is in test_hub.cpp.)
long blocked_syscall(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string first;
  if (!(f >> first) || first.empty() || !std::isdigit(static_cast<unsigned char>(first[0]))) return -1;
  return std::stol(first);
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void put() const { EXPECT_EQ(::write(w, "x", 1), 1); }
};

}  // namespace

TEST(Poller, ReadinessThatHoldsAtAddIsReported) {
  Poller p;
  Pipe pipe;
  pipe.put();
  ASSERT_EQ(p.add(pipe.r, 7), 0);
  auto got = wait_once(p, 0);
  ASSERT_EQ(got.count(7), 1u);
  EXPECT_TRUE(got[7].readable);
}

TEST(Poller, EdgeTriggeredEachChangeReportedOnce) {
  Poller p;
  Pipe pipe;
  ASSERT_EQ(p.add(pipe.r, 1), 0);
  EXPECT_TRUE(wait_once(p, 0).empty());  // nothing to read yet
  pipe.put();
  EXPECT_EQ(wait_once(p, 0).count(1), 1u);
  // Still readable (nobody read), but no new edge: not reported again.
  EXPECT_TRUE(wait_once(p, 0).empty());
  pipe.put();  // new data: a new edge
  auto got = wait_once(p, 0);
  ASSERT_EQ(got.count(1), 1u);
  EXPECT_TRUE(got[1].readable);
}

TEST(Poller, WritabilityIsReported) {
  Poller p;
  Pipe pipe;
  ASSERT_EQ(p.add(pipe.w, 2), 0);
  auto got = wait_once(p, 0);
  ASSERT_EQ(got.count(2), 1u);
  EXPECT_TRUE(got[2].writable);
  EXPECT_FALSE(got[2].readable);
}

TEST(Poller, ErrorsAndHangUpsCountAsBothDirections) {
  Poller p;
  Pipe pipe;
  ASSERT_EQ(p.add(pipe.r, 3), 0);
  ::close(pipe.w);  // the read end hangs up
  pipe.w = -1;
  auto got = wait_once(p, 0);
  ASSERT_EQ(got.count(3), 1u);
  EXPECT_TRUE(got[3].readable);
  EXPECT_TRUE(got[3].writable);  // so a writer waiting on it retries and sees the error too

  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  ASSERT_EQ(p.add(sv[0], 4), 0);
  EXPECT_EQ(wait_once(p, 0).count(4), 1u);  // writable at once
  ::shutdown(sv[1], SHUT_WR);               // the peer is done sending: readable (EOF)
  got = wait_once(p, 0);
  ASSERT_EQ(got.count(4), 1u);
  EXPECT_TRUE(got[4].readable);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Poller, RegularFilesAreRefusedWithEperm) {
  Poller p;
  char path[] = "/tmp/grove_test_poller_XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  EXPECT_EQ(p.add(fd, 5), -EPERM);  // callers treat such files as always ready
  ::close(fd);
}

TEST(Poller, RemovedFdIsNotReported) {
  Poller p;
  Pipe pipe;
  ASSERT_EQ(p.add(pipe.r, 6), 0);
  p.remove(pipe.r);
  pipe.put();
  EXPECT_TRUE(wait_once(p, 0).empty());
  // Added again, it is reported again (an fd number reused after close gets a new registration).
  ASSERT_EQ(p.add(pipe.r, 60), 0);
  auto got = wait_once(p, 0);
  EXPECT_EQ(got.count(60), 1u);
  EXPECT_EQ(got.count(6), 0u);
}

TEST(Poller, AddTwiceUpdatesTheToken) {
  Poller p;
  Pipe pipe;
  ASSERT_EQ(p.add(pipe.r, 8), 0);
  ASSERT_EQ(p.add(pipe.r, 80), 0);  // "registered behind our back": MOD, not EEXIST
  pipe.put();
  auto got = wait_once(p, 0);
  EXPECT_EQ(got.count(80), 1u);
  EXPECT_EQ(got.count(8), 0u);
}

TEST(Poller, NotifyWakesAWaitInAnotherThread) {
  Poller p;
  const pid_t waiter = static_cast<pid_t>(::syscall(SYS_gettid));
  std::atomic<bool> saw_wait{false};
  std::thread other([&] {
    // Notify only once the waiter is asleep in epoll: then notify itself must wake it.
    for (int i = 0; i < 5000 && !saw_wait; ++i) {
      const long nr = blocked_syscall(waiter);
      saw_wait = nr == SYS_epoll_pwait2 || nr == SYS_epoll_pwait || nr == SYS_epoll_wait;
      if (!saw_wait) std::this_thread::sleep_for(1ms);
    }
    p.notify();
  });
  const auto t0 = Clock::now();
  EXPECT_EQ(p.wait(10'000'000'000, [](const PollEvent&) { ADD_FAILURE() << "notify is not an event"; }), 0);
  EXPECT_LT(Clock::now() - t0, 9s) << "notify did not end the wait";
  other.join();
  EXPECT_TRUE(saw_wait) << "the waiting thread was never seen blocked in epoll_wait";
}

TEST(Poller, NotifyBeforeTheWaitEndsTheNextWait) {
  Poller p;
  p.notify();
  const auto t0 = Clock::now();
  EXPECT_EQ(p.wait(10'000'000'000, [](const PollEvent&) {}), 0);
  EXPECT_LT(Clock::now() - t0, 5s);
  // Consumed: the wait after that sleeps its full timeout.
  const auto t1 = Clock::now();
  EXPECT_EQ(p.wait(20'000'000, [](const PollEvent&) {}), 0);
  EXPECT_GE(Clock::now() - t1, 20ms);
}

TEST(Poller, SubMillisecondTimeoutsAreHonoured) {
  if (grove::detail::running_on_valgrind()) GTEST_SKIP() << "under valgrind: timing: everything runs 20-50 times slower";
  Poller p;
  std::vector<std::chrono::nanoseconds> took;
  for (int i = 0; i < 21; ++i) {
    const auto t0 = Clock::now();
    p.wait(200'000, [](const PollEvent&) {});
    took.push_back(Clock::now() - t0);
  }
  std::sort(took.begin(), took.end());
  EXPECT_GE(took.front(), 200us) << "a wait ended before its timeout";
  // Rounded up to whole milliseconds, the median would be 1 ms or more (a generous bound: the
  // typical wait here is about 0.25 ms).
  EXPECT_LT(took[took.size() / 2], 1ms);
}

TEST(Poller, MoreEventsThanOneBatchAreAllReportedOnce) {
  Poller p;
  constexpr int kFds = 600;  // beyond the backend's batch of 256 events per epoll_wait
  std::vector<int> fds;
  for (int i = 0; i < kFds; ++i) {
    int fd = ::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);  // readable from the start
    if (fd < 0) break;
    fds.push_back(fd);
    ASSERT_EQ(p.add(fd, static_cast<std::uint64_t>(1000 + i)), 0);
  }
  ASSERT_GT(fds.size(), 300u) << "not enough file descriptors for the test";
  std::multiset<std::uint64_t> seen;
  for (int round = 0; round < 10; ++round) {
    const int n = p.wait(0, [&](const PollEvent& e) { seen.insert(e.token); });
    if (n == 0) break;
  }
  EXPECT_EQ(seen.size(), fds.size());
  for (std::size_t i = 0; i < fds.size(); ++i) EXPECT_EQ(seen.count(1000 + i), 1u) << i;
  for (int fd : fds) ::close(fd);
}

TEST(Poller, RenewStartsEmpty) {
  Poller p;
  Pipe pipe;
  ASSERT_EQ(p.add(pipe.r, 9), 0);
  p.renew();  // as in a forked child: registrations are gone, notify still works
  pipe.put();
  EXPECT_TRUE(wait_once(p, 0).empty());
  p.notify();
  const auto t0 = Clock::now();
  EXPECT_EQ(p.wait(10'000'000'000, [](const PollEvent&) {}), 0);
  EXPECT_LT(Clock::now() - t0, 5s);
  ASSERT_EQ(p.add(pipe.r, 90), 0);
  EXPECT_EQ(wait_once(p, 0).count(90), 1u);
}

// The greenlet dump (grove/debug.hpp): every greenlet with its state, its wait in words and the
// stack it parked in, read back from the text the way a person would.
#include <gtest/gtest.h>
#include <unistd.h>

#include <grove/debug.hpp>
#include <grove/grove.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "dump.hpp"
#include "green_futex.hpp"
#include "hub.hpp"

using namespace std::chrono_literals;

namespace {

// Functions a greenlet parks in: the dump must show each of them in that greenlet's stack.
__attribute__((noinline)) void park_in_read(int fd) {
  char c;
  grove::read(fd, &c, 1);
  asm volatile("");  // keep the call above from becoming a tail call
}

__attribute__((noinline)) void park_in_sleep() {
  grove::sleep(30s);
  asm volatile("");
}

__attribute__((noinline)) void park_on_event(grove::Event& ev) {
  ev.wait();
  asm volatile("");
}

__attribute__((noinline)) std::string dump_from_here() {
  std::string s = grove::greenlet_dump();
  asm volatile("");
  return s;
}

// The dump split into one block per greenlet, keyed by name.
std::map<std::string, std::string> blocks(const std::string& dump) {
  std::map<std::string, std::string> out;
  std::size_t pos = dump.find("\ngreenlet ");
  while (pos != std::string::npos) {
    const std::size_t next = dump.find("\ngreenlet ", pos + 1);
    const std::string block = dump.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    const std::size_t q1 = block.find('\'');
    const std::size_t q2 = block.find('\'', q1 + 1);
    out[block.substr(q1 + 1, q2 - q1 - 1)] = block;
    pos = next;
  }
  return out;
}

std::string first_line(const std::string& block) { return block.substr(0, block.find('\n')); }

}  // namespace

TEST(Dump, NamesEveryGreenletWithItsWaitAndTheFunctionItParkedIn) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  grove::Event ev, never;
  auto reader = grove::spawn(grove::SpawnOptions{.name = "reader"}, [&] { park_in_read(fds[0]); });
  auto sleeper = grove::spawn(grove::SpawnOptions{.name = "sleeper"}, [] { park_in_sleep(); });
  auto waiter = grove::spawn(grove::SpawnOptions{.name = "event-waiter"}, [&] { park_on_event(ev); });
  auto worker = grove::spawn(grove::SpawnOptions{.name = "worker-3"}, [&] { never.wait(); });
  auto joiner = grove::spawn(grove::SpawnOptions{.name = "joiner"}, [&] { worker.join(); });
  auto later = grove::spawn_later(1h, [] {});
  grove::yield();  // each runs until it parks

  const std::string dump = dump_from_here();
  if (std::getenv("SHOW_DUMP")) std::fputs(dump.c_str(), stderr);
  SCOPED_TRACE(dump);
  auto b = blocks(dump);
  ASSERT_EQ(b.size(), 7u);  // main + 6

  EXPECT_NE(dump.find("grove: 7 greenlets on the hub of thread " + std::to_string(::gettid())), std::string::npos);
  EXPECT_NE(first_line(b["main"]).find("[running]"), std::string::npos);
  EXPECT_NE(b["main"].find("dump_from_here"), std::string::npos);

  EXPECT_NE(first_line(b["reader"]).find("[read fd " + std::to_string(fds[0]) + ", parked "), std::string::npos);
  EXPECT_NE(b["reader"].find("park_in_read"), std::string::npos);

  EXPECT_NE(first_line(b["sleeper"]).find("[sleep, "), std::string::npos);
  EXPECT_NE(first_line(b["sleeper"]).find(" s left, parked "), std::string::npos);
  EXPECT_NE(b["sleeper"].find("park_in_sleep"), std::string::npos);

  EXPECT_NE(first_line(b["event-waiter"]).find("[grove::Event::wait 0x"), std::string::npos);
  EXPECT_NE(b["event-waiter"].find("park_on_event"), std::string::npos);
  EXPECT_NE(first_line(b["joiner"]).find("[join of 'worker-3', parked "), std::string::npos);

  const std::string later_name = later.name();
  EXPECT_NE(first_line(b[later_name]).find("[not started, starts in "), std::string::npos);

  // Source positions where there is debug information: this file is built with -g.
  EXPECT_NE(b["reader"].find("test_dump.cpp:"), std::string::npos);

  ev.set();
  never.set();
  ::close(fds[1]);
  reader.join();
  waiter.join();
  joiner.join();
  sleeper.kill();
  later.kill();
  ::close(fds[0]);
}

TEST(Dump, WaitsInWordsWithDeadlinesAndTimeouts) {
  grove::Event ev;
  auto g = grove::spawn(grove::SpawnOptions{.name = "bounded"}, [&] {
    grove::Timeout t(20s);
    ev.wait(10min);
  });
  grove::yield();
  auto b = blocks(grove::greenlet_dump());
  const std::string line = first_line(b["bounded"]);
  EXPECT_NE(line.find("grove::Event::wait 0x"), std::string::npos) << line;
  EXPECT_NE(line.find(", grove::Timeout in "), std::string::npos) << line;  // the scope's 20 s come first
  ev.set();
  g.join();
}

TEST(Dump, PostedDumpRunsInTheHubAndUnwindsTheParkedRoot) {
  grove::detail::Hub& hub = grove::detail::Hub::get();
  std::string text;
  hub.post([&] { text = grove::detail::dump_text(hub, "from the loop"); });
  grove::sleep(1ms);  // the loop runs posted callbacks first thing once main parks
  ASSERT_FALSE(text.empty());
  SCOPED_TRACE(text);
  EXPECT_NE(text.find(", from the loop: 1 parked"), std::string::npos);  // nobody runs while the hub dumps
  auto b = blocks(text);
  EXPECT_NE(first_line(b["main"]).find("[sleep, "), std::string::npos);
  // main's own stack, unwound from its saved context: this test's body is in it.
  EXPECT_NE(b["main"].find("PostedDumpRunsInTheHubAndUnwindsTheParkedRoot"), std::string::npos);
}

TEST(Dump, AGreenThreadsLockWaitShowsTheLock) {
  // Green threads park on the lock's own word (green_futex.hpp); the dump names the object.
  static std::uint32_t lock_word = 0;
  auto g = grove::spawn(grove::SpawnOptions{.name = "green-thread"}, [] {
    grove::detail::futex_wait(&lock_word, 0, grove::detail::kNever, "pthread_mutex_lock");
  });
  grove::yield();
  auto b = blocks(grove::greenlet_dump());
  char expected[64];
  std::snprintf(expected, sizeof expected, "[pthread_mutex_lock %p, parked ", static_cast<void*>(&lock_word));
  EXPECT_NE(first_line(b["green-thread"]).find(expected), std::string::npos) << b["green-thread"];
  lock_word = 1;
  grove::detail::futex_wake(&lock_word, 1);
  g.join();
}

TEST(Dump, NoHubNoText) {
  std::string text = "unset";
  std::thread([&] { text = grove::greenlet_dump(); }).join();
  EXPECT_EQ(text, "");
}

// monitor_probe — a program whose hub is held on purpose, for test_monitor.cpp.
//
//   monitor_probe spin MS       greenlet 'spinner' computes for MS ms without parking
//   monitor_probe futex MS      greenlet 'locker' waits MS ms in a raw futex, no timeout (sampled)
//   monitor_probe futex-timed MS  the same with a timeout (a signal would end it: not sampled)
//   monitor_probe nanosleep MS  greenlet 'napper' sleeps MS ms in a raw nanosleep (not sampled)
//   monitor_probe real-call MS  greenlet 'blocker' makes a "real call" (nothrow::real_call_begin) of MS ms
//
// Prints what the held call returned and how many grove-watch threads the process has, then
// waits, parked, until its stdin is closed.
#include <dirent.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grove/grove.hpp>
#include <grove/nothrow.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

__attribute__((noinline)) void spin_for(long ms) {
  const auto t0 = Clock::now();
  volatile unsigned long x = 0;
  while (ms_since(t0) < ms) x = x + 1;
}

// A contended lock: a futex wait without a timeout, woken by another thread after `ms`.
__attribute__((noinline)) void block_in_futex(long ms) {
  static std::atomic<int> word{0};
  std::thread waker([ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the length of the hold, not a synchronisation
    word.store(1);
    ::syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  });
  const auto t0 = Clock::now();
  long r = 0;
  int e = 0;
  while (word.load() == 0) {
    r = ::syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
    e = errno;
    if (r < 0 && e != EAGAIN) break;  // EINTR would be the monitor's fault
  }
  std::printf("futex rc=%ld errno=%s elapsed=%ld\n", r, r < 0 ? std::strerror(e) : "-", ms_since(t0));
  waker.join();
}

__attribute__((noinline)) void block_in_timed_futex(long ms) {
  int word = 0;
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  const auto t0 = Clock::now();
  long r = ::syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, nullptr, 0);
  const int e = errno;
  std::printf("futex rc=%ld errno=%s elapsed=%ld\n", r, r < 0 ? std::strerror(e) : "-", ms_since(t0));
}

__attribute__((noinline)) void block_in_nanosleep(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000}, left{};
  const auto t0 = Clock::now();
  long r = ::syscall(SYS_nanosleep, &ts, &left);
  const int e = errno;
  std::printf("nanosleep rc=%ld errno=%s elapsed=%ld\n", r, r < 0 ? std::strerror(e) : "-", ms_since(t0));
}

int watch_threads() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string name;
      std::getline(comm, name);
      n += name == "grove-watch";
    }
    ::closedir(d);
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: monitor_probe spin|futex|nanosleep|real-call MS\n");
    return 2;
  }
  const std::string mode = argv[1];
  const long ms = std::atol(argv[2]);
  grove::Greenlet<void> g;
  if (mode == "spin") {
    g = grove::spawn(grove::SpawnOptions{.name = "spinner"}, [ms] { spin_for(ms); });
  } else if (mode == "futex") {
    g = grove::spawn(grove::SpawnOptions{.name = "locker"}, [ms] { block_in_futex(ms); });
  } else if (mode == "futex-timed") {
    g = grove::spawn(grove::SpawnOptions{.name = "timed-locker"}, [ms] { block_in_timed_futex(ms); });
  } else if (mode == "nanosleep") {
    g = grove::spawn(grove::SpawnOptions{.name = "napper"}, [ms] { block_in_nanosleep(ms); });
  } else if (mode == "real-call") {
    static int the_mutex;
    g = grove::spawn(grove::SpawnOptions{.name = "blocker"}, [ms] {
      grove::nothrow::real_call_begin("pthread_mutex_lock", &the_mutex);
      block_in_nanosleep(ms);
      grove::nothrow::real_call_end();
    });
    std::printf("object=%p\n", static_cast<void*>(&the_mutex));
  } else {
    return 2;
  }
  auto ticker = grove::spawn([] { grove::sleep(1ms); });  // the hub has other work, as in a real program
  g.join();
  ticker.join();
  std::printf("held-done watch-threads=%d\n", watch_threads());
  std::fflush(stdout);
  // Then parked (the hub asleep, which holds nobody) until the test closes stdin.
  char c;
  while (grove::read(0, &c, 1) > 0) {
  }
  return 0;
}

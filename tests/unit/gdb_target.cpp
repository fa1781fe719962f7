// gdb_target — greenlets parked in known functions, then a stop in grove_gdb_stop_here() for
// test_gdb.sh (gdb -batch with grove-gdb.py, live and on a core).
#include <unistd.h>

#include <grove/grove.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace std::chrono_literals;

namespace {

__attribute__((noinline)) void park_in_read(int fd) {
  char c;
  grove::read(fd, &c, 1);
  asm volatile("");
}

__attribute__((noinline)) void park_in_sleep() {
  grove::sleep(1h);
  asm volatile("");
}

}  // namespace

// With an argument "abort", the process dumps core here (for a core made by the kernel).
bool g_abort = false;
extern "C" __attribute__((noinline)) void grove_gdb_stop_here() {
  if (g_abort) std::abort();
  asm volatile("");
}

int main(int argc, char** argv) {
  g_abort = argc > 1 && std::string(argv[1]) == "abort";
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  grove::Event never;
  auto reader = grove::spawn(grove::SpawnOptions{.name = "reader"}, [&] { park_in_read(fds[0]); });
  auto sleeper = grove::spawn(grove::SpawnOptions{.name = "sleeper"}, [] { park_in_sleep(); });
  auto waiter = grove::spawn(grove::SpawnOptions{.name = "waiter"}, [&] { never.wait(); });
  auto joiner = grove::spawn(grove::SpawnOptions{.name = "joiner"}, [&] { waiter.join(); });
  grove::yield();  // each runs until it parks
  std::printf("read-fd=%d\n", fds[0]);
  std::fflush(stdout);
  grove_gdb_stop_here();
  never.set();
  ::close(fds[1]);
  sleeper.kill();
  reader.join();
  joiner.join();
  return 0;
}

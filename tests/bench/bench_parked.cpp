// P3 — memory per parked greenlet. Spawns N greenlets that each park in grove::sleep(1 hour)
// (one timer each, no other allocation), lets them all reach the park, then reports from /proc:
// the growth of VmRSS (resident memory, what "per greenlet" means here), of VmPTE (page tables,
// which VmRSS does not count), of the committed heap, and the number of mappings — which shows
// whether guard pages split the stack mappings (mprotect: +2 VMAs per stack; MADV_GUARD_INSTALL:
// neighbouring stacks merge, so the count barely moves and 1M fit under vm.max_map_count).
//
//   bench_parked [n=100000]
// Output: one "key value" line per measure, for run.sh.
#include <grove/grove.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "stack.hpp"  // lib/: which guard method the kernel gave us, the default stack size

using namespace std::chrono_literals;

namespace {

// A field of /proc/self/status in kB.
long status_kb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(f, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::atol(line.c_str() + n + 1);
  return -1;
}

long map_count() {
  std::ifstream f("/proc/self/maps");
  std::string line;
  long n = 0;
  while (std::getline(f, line)) ++n;
  return n;
}

long max_map_count() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  long v = -1;
  f >> v;
  return v;
}

struct Snapshot {
  long rss_kb, pte_kb, maps;
  static Snapshot take() { return {status_kb("VmRSS"), status_kb("VmPTE"), map_count()}; }
};

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 100000;

  // Create the hub first (its own stack, epoll fd, signal stack) so it is not charged to the
  // greenlets. Handles are not kept: the scheduler holds its own reference to each greenlet.
  grove::yield();
  const Snapshot before = Snapshot::take();

  long parked = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i)
    grove::spawn([&parked] {
      ++parked;
      grove::sleep(1h);
    });
  // main goes to the back of the ready queue: once it runs again, every greenlet spawned before
  // it has run up to its park.
  grove::yield();
  const auto t1 = std::chrono::steady_clock::now();
  if (parked != n) {
    std::fprintf(stderr, "bench_parked: only %ld of %ld greenlets parked\n", parked, n);
    return 1;
  }
  const Snapshot after = Snapshot::take();

  const double dn = static_cast<double>(n);
  std::printf("parked %ld\n", n);
  std::printf("guard_method %s\n", grove::detail::StackPool::guard_method() == grove::detail::GuardMethod::guard_install
                                       ? "MADV_GUARD_INSTALL"
                                       : "mprotect");
  std::printf("stack_kib %zu\n", grove::detail::default_stack_size() / 1024);
  std::printf("spawn_and_park_ms %.1f\n", std::chrono::duration<double, std::milli>(t1 - t0).count());
  std::printf("rss_before_kib %ld\nrss_after_kib %ld\n", before.rss_kb, after.rss_kb);
  std::printf("rss_per_greenlet_bytes %.0f\n", static_cast<double>(after.rss_kb - before.rss_kb) * 1024 / dn);
  std::printf("pte_before_kib %ld\npte_after_kib %ld\n", before.pte_kb, after.pte_kb);
  std::printf("pte_per_greenlet_bytes %.0f\n", static_cast<double>(after.pte_kb - before.pte_kb) * 1024 / dn);
  std::printf("rss_plus_pte_per_greenlet_bytes %.0f\n",
              static_cast<double>(after.rss_kb + after.pte_kb - before.rss_kb - before.pte_kb) * 1024 / dn);
  std::printf("maps_before %ld\nmaps_after %ld\nmax_map_count %ld\n", before.maps, after.maps, max_map_count());
  std::fflush(stdout);
  // Tearing down a million parked greenlets is not what is measured; leave them to the OS.
  std::_Exit(0);
}

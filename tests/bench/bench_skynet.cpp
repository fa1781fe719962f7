// P2 — skynet: a 10-ary tree of greenlets, 1M leaves (1,111,111 greenlets in all), one thread.
// Each leaf returns its number, each parent spawns its 10 children, then joins them (get()) and
// returns the sum; the root's result must be 0 + 1 + … + 999999. Prints the wall time of each
// run and the median. Its twin, skynet.go, does the same with goroutines and channels.
//
//   bench_skynet [runs=5] [leaves=1000000]
#include <grove/grove.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

long long skynet(long long num, long long size) {
  if (size == 1) return num;
  const long long sub = size / 10;
  std::array<grove::Greenlet<long long>, 10> kids;
  for (int i = 0; i < 10; ++i) kids[static_cast<std::size_t>(i)] = grove::spawn(skynet, num + i * sub, sub);
  long long sum = 0;
  for (auto& k : kids) sum += k.get();
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const long long leaves = argc > 2 ? std::atoll(argv[2]) : 1000000;
  const long long expect = leaves * (leaves - 1) / 2;
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    // The root of the tree runs on main's own (root) greenlet: its get() calls run the others.
    long long sum = skynet(0, leaves);
    auto t1 = std::chrono::steady_clock::now();
    if (sum != expect) {
      std::fprintf(stderr, "skynet: wrong result %lld, want %lld\n", sum, expect);
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    std::printf("run %d: %.1f ms (result %lld)\n", r, ms.back(), sum);
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  std::printf("median_ms %.1f\n", sorted[sorted.size() / 2]);
}

// P9 and cross-hub throughput: greenlets on two hubs (a HubGroup of 2, pinned to CPUs 0 and 1).
//
//   round trip   a greenlet on hub 0 puts i into a grove::mt::Channel, a greenlet on hub 1 takes
//                it and puts it into a second Channel, hub 0 takes it back (Go's twin: two
//                goroutines locked to two OS threads, unbuffered channels, hubs.go)
//   queue        items/s from a producer greenlet on hub 0 to a consumer on hub 1 through a
//                grove::mt::Queue<int>(1024) (Go: a buffered channel of 1024)
//
//   bench_hubs [runs] [round_trips] [items]     (defaults 5, 200000, 10000000)
//
// Prints each run and the medians; ns per round trip is wall time / round trips.
#include <grove/grove.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(grove::Clock::time_point t0) {
  return std::chrono::duration<double>(grove::Clock::now() - t0).count();
}

double round_trip_ns(grove::HubGroup& hubs, long n) {
  grove::mt::Channel<long> there, back;
  auto echo = hubs.spawn_on(1, [&] {
    for (long v : there) back.put(v);
  });
  auto driver = hubs.spawn_on(0, [&] {
    long sum = 0;
    const auto t0 = grove::Clock::now();
    for (long i = 0; i < n; ++i) {
      there.put(i);
      sum += back.get();
    }
    const double s = seconds_since(t0);
    there.close();
    if (sum != n * (n - 1) / 2) std::fprintf(stderr, "bench_hubs: round trip checksum wrong\n"), std::exit(1);
    return s;
  });
  const double s = driver.get();
  echo.get();
  return s * 1e9 / static_cast<double>(n);
}

double queue_items_per_s(grove::HubGroup& hubs, long n) {
  grove::mt::Queue<int> q(1024);
  auto consumer = hubs.spawn_on(1, [&] {
    long sum = 0, count = 0;
    for (int v : q) {
      sum += v;
      ++count;
    }
    return std::pair{sum, count};
  });
  auto producer = hubs.spawn_on(0, [&] {
    const auto t0 = grove::Clock::now();
    for (long i = 0; i < n; ++i) q.put(static_cast<int>(i & 0xffff));
    q.close();
    return t0;
  });
  const auto t0 = producer.get();
  const auto [sum, count] = consumer.get();
  const double s = seconds_since(t0);
  long want = 0;
  for (long i = 0; i < n; ++i) want += i & 0xffff;
  if (count != n || sum != want) std::fprintf(stderr, "bench_hubs: queue lost or duplicated items\n"), std::exit(1);
  return static_cast<double>(n) / s;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const long rounds = argc > 2 ? std::atol(argv[2]) : 200'000;
  const long items = argc > 3 ? std::atol(argv[3]) : 10'000'000;
  const bool two_cpus = std::thread::hardware_concurrency() >= 2;
  grove::HubGroup hubs(2, grove::HubGroupOptions{.cpus = two_cpus ? std::vector<int>{0, 1} : std::vector<int>{}});
  std::vector<double> rt, qs;
  for (int r = 0; r < runs; ++r) {
    rt.push_back(round_trip_ns(hubs, rounds));
    qs.push_back(queue_items_per_s(hubs, items));
    std::printf("run %d: round trip %.0f ns, queue %.2f M items/s\n", r + 1, rt.back(), qs.back() / 1e6);
  }
  std::printf("median: round trip %.0f ns, queue %.2f M items/s\n", median(rt), median(qs) / 1e6);
}

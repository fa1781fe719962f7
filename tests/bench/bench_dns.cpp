// bench_dns — P7: 1000 concurrent lookups against a DNS server that answers after 50 ms.
//
// The server (tests/dns/dns_server.hpp) runs in its own thread on loopback; grove resolves in the
// main thread with one greenlet per lookup, all sharing the thread's c-ares channel. Each run
// uses fresh names (no cache anywhere in the path), and the wall time from the first spawn to the
// last answer is reported; the target is ≤ 100 ms, i.e. the server's 50 ms plus < 50 ms of ours.
//
//   bench_dns [lookups=1000] [delay_ms=50] [runs=7]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dns.hpp"
#include "dns_server.hpp"
#include "grove/grove.hpp"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int delay = argc > 2 ? std::atoi(argv[2]) : 50;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 7;
  if (n <= 0 || delay < 0 || runs <= 0) {
    std::fprintf(stderr, "usage: bench_dns [lookups>0] [delay_ms>=0] [runs>0]\n");
    return 2;
  }
  grove::test::DnsServer server;
  server.set_default_delay_ms(delay);
  for (int r = 0; r < runs; ++r)
    for (int i = 0; i < n; ++i) server.add_a("n" + std::to_string(i) + ".r" + std::to_string(r) + ".bench", "192.0.2.1");
  grove::detail::dns::Config cfg;
  cfg.servers = server.address();
  cfg.timeout_ms = 2000;
  cfg.tries = 1;
  grove::detail::dns::configure(cfg);

  std::vector<double> ms;
  int failures = 0;
  for (int r = 0; r < runs; ++r) {
    std::vector<grove::Greenlet<bool>> gs;
    gs.reserve(static_cast<std::size_t>(n));
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      std::string name = "n" + std::to_string(i) + ".r" + std::to_string(r) + ".bench";
      gs.push_back(grove::spawn([name] {
        try {
          return !grove::resolve(name, "", {AF_INET, SOCK_STREAM, 0, 0}).empty();
        } catch (const std::exception&) {
          return false;
        }
      }));
    }
    for (auto& g : gs) failures += !g.get();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::printf("run %d: %d lookups in %.1f ms\n", r + 1, n, ms.back());
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  std::printf("P7 dns: %d concurrent lookups, server delay %d ms: median %.1f ms, min %.1f, max %.1f "
              "(target <= %d ms); failures %d; server saw %d queries\n",
              n, delay, median, sorted.front(), sorted.back(), delay + 50, failures, server.total_queries());
  return failures == 0 ? 0 : 1;
}

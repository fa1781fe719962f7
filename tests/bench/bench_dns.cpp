// bench_dns — P7: N concurrent lookups against a DNS server that answers every query after a delay.
//
// The server (tests/dns/dns_server.hpp) runs in its own thread on loopback; grove resolves in the
// main thread with one greenlet per lookup, all sharing the thread's resolver. Each run uses fresh
// names (no cache anywhere in the path). Per run: the wall time from the first spawn to the last
// answer, and the slowest single lookup (spawn to answer) — a lost answer shows there as c-ares'
// retry timeout (resolv.conf's, 5 s by default), whatever the median says. The target is ≤ 100 ms
// for 1000 lookups at 50 ms, in every run.
//
//   bench_dns [-n lookups=1000] [-d delay_ms=50] [-r runs=10] [-4] [-b bytes]
//
// -4 asks for A records only (AF_INET); the default is AF_UNSPEC (A and AAAA, two queries per
// lookup), as a program calling getaddrinfo with family 0 does. -b sets the receive buffer asked
// for on each UDP socket (default 4 MiB, which root gets in full): `-b 212992` shows what an
// unprivileged process gets with Debian's default net.core.rmem_max. Built twice (tests/bench/meson.build):
// bench_dns calls grove::resolve; bench_dns_linked is linked with the interposer and calls plain
// ::getaddrinfo, which the interposer answers with grove's resolver. Exit status 1 if any lookup
// failed or any run missed the target.
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dns.hpp"
#include "dns_server.hpp"
#include "grove/grove.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

bool lookup(const std::string& name, int family) {
#ifdef GROVE_BENCH_PLAIN_GETADDRINFO
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), "80", &hints, &res);
  if (rc != 0) return false;
  ::freeaddrinfo(res);
  return true;
#else
  try {
    return !grove::resolve(name, "80", {family, SOCK_STREAM, 0, 0}).empty();
  } catch (const std::exception&) {
    return false;
  }
#endif
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int n = 1000, delay = 50, runs = 10, family = AF_UNSPEC, rcvbuf = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "-n" || a == "-d" || a == "-r" || a == "-b") && i + 1 < argc) {
      const int v = std::atoi(argv[++i]);
      (a == "-n" ? n : a == "-d" ? delay : a == "-r" ? runs : rcvbuf) = v;
    } else if (a == "-4") {
      family = AF_INET;
    } else {
      std::fprintf(stderr, "usage: bench_dns [-n lookups] [-d delay_ms] [-r runs] [-4] [-b bytes]\n");
      return 2;
    }
  }
  if (n <= 0 || delay < 0 || runs <= 0) {
    std::fprintf(stderr, "bench_dns: lookups and runs must be positive, the delay not negative\n");
    return 2;
  }
  grove::test::DnsServer server;
  server.set_default_delay_ms(delay);
  server.add_zone("bench", "192.0.2.1", "2001:db8::1");
  // This thread's resolver (the interposer's getaddrinfo uses it too). Timeouts and tries stay
  // resolv.conf's (5 s and 2 by default), so that a lost answer costs what it costs a user.
  grove::detail::dns::Config cfg;
  cfg.servers = server.address();
  cfg.udp_receive_buffer = rcvbuf;
  grove::detail::dns::configure(cfg);

  std::vector<double> walls, slowests;
  int failures = 0;
  for (int r = 0; r < runs; ++r) {
    std::vector<grove::Greenlet<double>> gs;
    gs.reserve(static_cast<std::size_t>(n));
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      std::string name = std::string("n").append(std::to_string(i)).append(".r").append(std::to_string(r)).append(".bench");
      gs.push_back(grove::spawn([name, family] {
        const auto start = Clock::now();
        return lookup(name, family) ? ms_since(start) : -1.0;
      }));
    }
    double slowest = 0;
    int failed = 0;
    for (auto& g : gs) {
      const double ms = g.get();
      failed += ms < 0;
      slowest = std::max(slowest, ms);
    }
    walls.push_back(ms_since(t0));
    slowests.push_back(slowest);
    failures += failed;
    std::printf("run %d: %d lookups in %.1f ms, slowest %.1f ms, %d failed\n", r + 1, n, walls.back(), slowest, failed);
  }
  const auto st = grove::detail::dns::stats();
  const double target = delay + 50.0;
  const double worst = *std::max_element(walls.begin(), walls.end());
  const int missed = static_cast<int>(std::count_if(walls.begin(), walls.end(), [&](double w) { return w > target; }));
  std::printf("P7 dns%s: %d concurrent lookups (%s), server delay %d ms, %d runs: median %.1f ms, worst run %.1f ms, "
              "slowest lookup %.1f ms; %d of %d runs over %.0f ms; failures %d\n",
#ifdef GROVE_BENCH_PLAIN_GETADDRINFO
              " (plain getaddrinfo, interposer)",
#else
              "",
#endif
              n, family == AF_INET ? "A" : "A+AAAA", delay, runs, median(walls), worst,
              *std::max_element(slowests.begin(), slowests.end()), missed, runs, target, failures);
  std::printf("  resolver: %llu queries, %llu retried, %llu kernel drops, %llu paced; up to %zu channels of %d answers "
              "(receive buffer %d bytes); server: %d queries, %d answers sent\n",
              static_cast<unsigned long long>(st.queries), static_cast<unsigned long long>(st.retried),
              static_cast<unsigned long long>(st.kernel_drops), static_cast<unsigned long long>(st.paced),
              st.channels_peak, st.answers_per_socket, st.receive_buffer, server.total_queries(),
              server.udp_answers_sent());
  return failures == 0 && missed == 0 ? 0 : 1;
}

// dns_serve — the scripted DNS server (dns_server.hpp) as a program, for measurements outside the
// test binaries: a resolver sample or a preloaded program in a network namespace whose resolv.conf
// points at it (tests/bench/bench_resolve.sh).
//
//   dns_serve [--ip 127.0.0.1] [--port 53] [--delay-ms 50] [--zone bench] [--no-aaaa]
//
// Every name under the zone (default "bench": a.bench, n17.r3.bench …) has an A record 192.0.2.1
// and an AAAA record 2001:db8::1; other names get NXDOMAIN. Prints "ready IP:PORT" once it
// answers, then runs until SIGINT or SIGTERM, and prints what it received and sent, so that a run
// can tell an answer the server never sent from one the resolver lost.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dns_server.hpp"

int main(int argc, char** argv) {
  std::string ip = "127.0.0.1", zone = "bench";
  int port = 53, delay_ms = 50;
  bool aaaa = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dns_serve: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--ip") ip = value();
    else if (a == "--port") port = std::atoi(value().c_str());
    else if (a == "--delay-ms") delay_ms = std::atoi(value().c_str());
    else if (a == "--zone") zone = value();
    else if (a == "--no-aaaa") aaaa = false;
    else {
      std::fprintf(stderr, "usage: dns_serve [--ip IP] [--port N] [--delay-ms N] [--zone SUFFIX] [--no-aaaa]\n");
      return 2;
    }
  }
  if (port < 0 || port > 65535 || delay_ms < 0) {
    std::fprintf(stderr, "dns_serve: bad port or delay\n");
    return 2;
  }
  // Block the signals before the server's thread starts, so that only sigwait below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  grove::test::DnsServer server(static_cast<std::uint16_t>(port), ip);
  server.set_default_delay_ms(delay_ms);
  server.add_zone(zone, "192.0.2.1", aaaa ? "2001:db8::1" : "");
  std::printf("ready %s\n", server.address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  std::printf("dns_serve: %d queries (%d over TCP), %d UDP answers sent, %d UDP sends failed\n",
              server.total_queries(), server.tcp_queries(), server.udp_answers_sent(), server.udp_send_errors());
  return 0;
}

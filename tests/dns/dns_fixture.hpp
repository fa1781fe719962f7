// dns_fixture.hpp — the fixture the resolver's tests share (test_dns.cpp: glibc's semantics;
// test_dns_load.cpp: concurrency, pacing, abandonment): a scripted DNS server on loopback with the
// names the tests ask for, private hosts and nsswitch files, and this thread's resolver pointed at
// the server.
#pragma once

#include <gtest/gtest.h>
#include <netdb.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "dns.hpp"
#include "dns_server.hpp"
#include "grove/dns.hpp"
#include "grove/dns_c.h"
#include "grove/grove.hpp"
#include "resolve.hpp"

using namespace std::chrono_literals;
using grove::test::DnsServer;
using grove::test::SilentServer;

inline std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = "/tmp/grove_test_dns_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

class Dns : public ::testing::Test {
 protected:
  void SetUp() override {
    resolv_ = write_temp("resolv.conf", "options ndots:1\n");
    hosts_ = write_temp("hosts", "127.0.0.1 localhost\n192.0.2.99 filehost filealias\n2001:db8::99 filehost\n");
    nss_ = write_temp("nsswitch.conf", "hosts: files dns\n");
    grove::detail::resolve::set_files_for_tests(hosts_, nss_);
    server.add_a("host.test", "192.0.2.10");
    server.add_a("dual.test", "192.0.2.11");
    server.add_aaaa("dual.test", "2001:db8::11");
    server.add_aaaa("six.test", "2001:db8::6");
    server.add_cname("alias.test", "mid.test");
    server.add_cname("mid.test", "real.test");
    server.add_a("real.test", "192.0.2.20");
    server.add_empty("empty.test");
    server.set_rcode("servfail.test", 2);
    server.set_rcode("refused.test", 5);
    server.set_mode("big.test", DnsServer::Mode::truncate);
    server.add_a("big.test", "192.0.2.30");
    server.set_mode("garbage.test", DnsServer::Mode::garbage);
    server.set_mode("silent.test", DnsServer::Mode::drop);
    server.add_a("slow.test", "192.0.2.40");
    server.set_delay_ms("slow.test", 400);
    server.add_a("www.example.test", "192.0.2.50");
    server.add_ptr("10.2.0.192.in-addr.arpa", "host.test");
    use(server.address());
  }
  void TearDown() override {
    grove::detail::resolve::set_files_for_tests("", "");
    grove::detail::dns::configure({});
    std::remove(resolv_.c_str());
    std::remove(hosts_.c_str());
    std::remove(nss_.c_str());
  }
  void use(const std::string& servers, int timeout_ms = 300, int tries = 2, const std::string& resolv = "",
           int udp_receive_buffer = 0) {
    grove::detail::dns::Config c;
    c.servers = servers;
    c.timeout_ms = timeout_ms;
    c.tries = tries;
    c.resolv_conf = resolv.empty() ? resolv_ : resolv;
    c.udp_receive_buffer = udp_receive_buffer;
    ASSERT_TRUE(grove::detail::dns::configure(c));
  }
  // Lets other greenlets run until this thread's resolver has sent `n` queries in all: the point
  // where a lookup greenlet is parked waiting for its answer. Bounded; false if it never happens.
  static bool sent_queries(std::uint64_t n) {
    for (int i = 0; i < 10000 && grove::detail::dns::stats().queries < n; ++i) grove::yield();
    return grove::detail::dns::stats().queries >= n;
  }
  // Parks until every query in flight (abandoned ones included) has completed.
  static bool idle_within(std::chrono::milliseconds d) {
    return grove::detail::dns::wait_idle(grove::detail::deadline_after(d));
  }
  static int gai(const char* node, const char* serv, int family, int socktype, int flags, addrinfo** out) {
    addrinfo h{};
    h.ai_family = family;
    h.ai_socktype = socktype;
    h.ai_flags = flags;
    return grove_getaddrinfo(node, serv, &h, out);
  }
  static std::vector<std::string> hosts_of(const std::vector<grove::Address>& v) {
    std::vector<std::string> out;
    for (const auto& a : v) out.push_back(a.host());
    return out;
  }

  DnsServer server;
  std::string resolv_, hosts_, nss_;
};

inline int code_of(const std::string& host, const grove::ResolveHints& h = {}) {
  try {
    grove::resolve(host, "", h);
    return 0;
  } catch (const grove::DnsError& e) {
    return e.code();
  }
}

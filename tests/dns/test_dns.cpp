// test_dns.cpp — grove's resolver against a real DNS server on loopback (dns_server.hpp).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "dns.hpp"
#include "dns_server.hpp"
#include "grove/dns.hpp"
#include "grove/detail/libc_resolver.hpp"
#include "grove/dns_c.h"
#include "grove/grove.hpp"
#include "resolve.hpp"

using namespace std::chrono_literals;
using grove::test::DnsServer;
using grove::test::SilentServer;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
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

int code_of(const std::string& host, const grove::ResolveHints& h = {}) {
  try {
    grove::resolve(host, "", h);
    return 0;
  } catch (const grove::DnsError& e) {
    return e.code();
  }
}

}  // namespace

TEST_F(Dns, ARecordOneSocketType) {
  auto v = grove::resolve("host.test", "80", {AF_INET, SOCK_STREAM, 0, 0});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].host(), "192.0.2.10");
  EXPECT_EQ(v[0].port(), 80);
  EXPECT_EQ(v[0].socktype, SOCK_STREAM);
  EXPECT_EQ(v[0].protocol, IPPROTO_TCP);
  EXPECT_TRUE(v[0].canonical_name.empty());
}

TEST_F(Dns, EverySocketTypeWhenNoneGiven) {
  auto v = grove::resolve("host.test", "", {AF_INET, 0, 0, 0});
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].socktype, SOCK_STREAM);
  EXPECT_EQ(v[1].socktype, SOCK_DGRAM);
  EXPECT_EQ(v[2].socktype, SOCK_RAW);
}

TEST_F(Dns, BothFamilies) {
  auto v = grove::resolve("dual.test", "", {AF_UNSPEC, SOCK_STREAM, 0, 0});
  auto h = hosts_of(v);
  EXPECT_EQ(std::set<std::string>(h.begin(), h.end()), (std::set<std::string>{"192.0.2.11", "2001:db8::11"}));
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(hosts_of(grove::resolve("dual.test", "", {AF_INET6, SOCK_STREAM, 0, 0})),
            std::vector<std::string>{"2001:db8::11"});
}

TEST_F(Dns, CnameChainGivesCanonicalName) {
  auto v = grove::resolve("alias.test", "", {AF_INET, SOCK_STREAM, 0, AI_CANONNAME});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].host(), "192.0.2.20");
  EXPECT_EQ(v[0].canonical_name, "real.test");
  hostent* h = grove_gethostbyname("alias.test");
  ASSERT_NE(h, nullptr);
  EXPECT_STREQ(h->h_name, "real.test");
  ASSERT_NE(h->h_aliases[0], nullptr);
  EXPECT_EQ(h->h_addrtype, AF_INET);
}

TEST_F(Dns, ErrorCodes) {
  EXPECT_EQ(code_of("nosuch.test"), EAI_NONAME);
  EXPECT_EQ(code_of("empty.test"), EAI_NODATA);
  EXPECT_EQ(code_of("six.test", {AF_INET, 0, 0, 0}), EAI_NODATA);
  EXPECT_EQ(code_of("servfail.test"), EAI_AGAIN);
  addrinfo* res = nullptr;
  EXPECT_EQ(gai("nosuch.test", nullptr, AF_UNSPEC, 0, 0, &res), EAI_NONAME);
  EXPECT_EQ(res, nullptr);
  EXPECT_EQ(gai("host.test", "nosuchservice", AF_UNSPEC, 0, 0, &res), EAI_SERVICE);
  EXPECT_EQ(gai("host.test", "http", AF_UNSPEC, 0, AI_NUMERICSERV, &res), EAI_NONAME);
  EXPECT_EQ(gai("host.test", nullptr, AF_UNSPEC, 0, AI_NUMERICHOST, &res), EAI_NONAME);
  EXPECT_EQ(gai("host.test", nullptr, AF_UNSPEC, 12345, 0, &res), EAI_SOCKTYPE);
  EXPECT_EQ(gai("host.test", nullptr, AF_UNIX, 0, 0, &res), EAI_FAMILY);
  EXPECT_EQ(gai("host.test", nullptr, AF_UNSPEC, 0, 0x10000, &res), EAI_BADFLAGS);
  EXPECT_EQ(gai(nullptr, "80", AF_UNSPEC, 0, AI_CANONNAME, &res), EAI_BADFLAGS);
  EXPECT_EQ(gai(nullptr, nullptr, AF_UNSPEC, 0, 0, &res), EAI_NONAME);
  EXPECT_EQ(gai("::1", nullptr, AF_INET, 0, 0, &res), EAI_ADDRFAMILY);
  EXPECT_EQ(gai("host.test", "80", AF_UNSPEC, SOCK_RAW, 0, &res), EAI_SERVICE);
  EXPECT_EQ(res, nullptr);
  EXPECT_STREQ(grove_gai_strerror(EAI_NONAME), gai_strerror(EAI_NONAME));
}

TEST_F(Dns, ServicesAndNumericHosts) {
  // "http" is tcp-only in /etc/services: one entry, not one per socket type.
  auto v = grove::resolve("192.0.2.1", "http");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].port(), 80);
  EXPECT_EQ(v[0].socktype, SOCK_STREAM);
  v = grove::resolve("127.1", "domain", {AF_INET, 0, 0, 0});  // inet_aton's short forms, like glibc
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].host(), "127.0.0.1");
  EXPECT_EQ(v[1].socktype, SOCK_DGRAM);
  v = grove::resolve("192.0.2.1", "", {AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].host(), "::ffff:192.0.2.1");
  v = grove::resolve("", "8080", {AF_INET, SOCK_STREAM, 0, AI_PASSIVE});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].host(), "0.0.0.0");
  v = grove::resolve("", "8080", {AF_UNSPEC, SOCK_STREAM, 0, 0});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].host(), "::1");
  EXPECT_EQ(v[1].host(), "127.0.0.1");
  EXPECT_EQ(server.total_queries(), 0);
}

TEST_F(Dns, HostsFileFirst) {
  auto v = grove::resolve("FileAlias", "", {AF_INET, SOCK_STREAM, 0, AI_CANONNAME});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].host(), "192.0.2.99");
  EXPECT_EQ(v[0].canonical_name, "filehost");
  v = grove::resolve("filehost", "", {AF_UNSPEC, SOCK_STREAM, 0, 0});
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(server.total_queries(), 0);
  EXPECT_EQ(grove::reverse_lookup("192.0.2.99").host, "filehost");
}

TEST_F(Dns, TruncatedAnswerRetriedOverTcp) {
  auto v = grove::resolve("big.test", "", {AF_INET, SOCK_STREAM, 0, 0});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].host(), "192.0.2.30");
  EXPECT_GE(server.tcp_queries(), 1);
}

TEST_F(Dns, SilentServerTimesOutWithRetries) {
  use(server.address(), 100, 2);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of("silent.test", {AF_INET, 0, 0, 0}), EAI_AGAIN);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(server.queries("silent.test"), 2);  // retried
  EXPECT_LT(took, 3s);
}

TEST_F(Dns, NextServerWhenFirstNeverAnswers) {
  SilentServer silent;
  use(silent.address() + "," + server.address(), 100, 2);
  auto v = grove::resolve("host.test", "", {AF_INET, SOCK_STREAM, 0, 0});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].host(), "192.0.2.10");
}

TEST_F(Dns, GarbageReplyIsNotAnAnswer) {
  use(server.address(), 100, 1);
  // c-ares drops the malformed datagram and keeps waiting, as glibc does: a timeout.
  EXPECT_EQ(code_of("garbage.test", {AF_INET, 0, 0, 0}), EAI_AGAIN);
  EXPECT_EQ(server.queries("garbage.test"), 1);
  // The channel still works afterwards.
  EXPECT_EQ(grove::resolve("host.test", "", {AF_INET, SOCK_STREAM, 0, 0}).size(), 1u);
}

TEST_F(Dns, SearchList) {
  std::string rc = write_temp("resolv_search.conf", "search example.test\noptions ndots:1\n");
  use(server.address(), 300, 2, rc);
  auto v = grove::resolve("www", "", {AF_INET, SOCK_STREAM, 0, AI_CANONNAME});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].host(), "192.0.2.50");
  EXPECT_EQ(v[0].canonical_name, "www.example.test");
  std::remove(rc.c_str());
}

TEST_F(Dns, ReverseLookup) {
  EXPECT_EQ(grove::reverse_lookup("192.0.2.10").host, "host.test");
  EXPECT_EQ(grove::reverse_lookup("192.0.2.77").host, "192.0.2.77");
  try {
    grove::reverse_lookup("192.0.2.77", NI_NAMEREQD);
    FAIL() << "expected DnsError";
  } catch (const grove::DnsError& e) {
    EXPECT_EQ(e.code(), EAI_NONAME);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(80);
  inet_pton(AF_INET, "192.0.2.10", &sa.sin_addr);
  char host[64], serv[32];
  ASSERT_EQ(grove_getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, sizeof host, serv, sizeof serv, 0), 0);
  EXPECT_STREQ(host, "host.test");
  EXPECT_STREQ(serv, "http");
  ASSERT_EQ(grove_getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, sizeof host, serv, sizeof serv,
                              NI_NUMERICHOST | NI_NUMERICSERV), 0);
  EXPECT_STREQ(host, "192.0.2.10");
  EXPECT_STREQ(serv, "80");
  char tiny[4];
  EXPECT_EQ(grove_getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, tiny, sizeof tiny, nullptr, 0, 0), EAI_OVERFLOW);
  EXPECT_EQ(grove_getnameinfo(reinterpret_cast<sockaddr*>(&sa), 4, host, sizeof host, nullptr, 0, 0), EAI_FAMILY);
  in_addr a;
  inet_pton(AF_INET, "192.0.2.10", &a);
  hostent* h = grove_gethostbyaddr(&a, 4, AF_INET);
  ASSERT_NE(h, nullptr);
  EXPECT_STREQ(h->h_name, "host.test");
}

TEST_F(Dns, GethostbynameR) {
  hostent he;
  hostent* res = nullptr;
  int herr = 0;
  char small[8];
  EXPECT_EQ(grove_gethostbyname_r("host.test", &he, small, sizeof small, &res, &herr), ERANGE);
  EXPECT_EQ(res, nullptr);
  char buf[1024];
  ASSERT_EQ(grove_gethostbyname_r("host.test", &he, buf, sizeof buf, &res, &herr), 0);
  ASSERT_EQ(res, &he);
  EXPECT_STREQ(he.h_name, "host.test");
  EXPECT_EQ(he.h_length, 4);
  char ip[16];
  inet_ntop(AF_INET, he.h_addr_list[0], ip, sizeof ip);
  EXPECT_STREQ(ip, "192.0.2.10");
  EXPECT_EQ(he.h_addr_list[1], nullptr);
  EXPECT_EQ(grove_gethostbyname_r("nosuch.test", &he, buf, sizeof buf, &res, &herr), 0);
  EXPECT_EQ(res, nullptr);
  EXPECT_EQ(herr, HOST_NOT_FOUND);
  EXPECT_EQ(grove_gethostbyname2_r("empty.test", AF_INET6, &he, buf, sizeof buf, &res, &herr), 0);
  EXPECT_EQ(herr, NO_DATA);
  EXPECT_EQ(grove_gethostbyname2_r("servfail.test", AF_INET, &he, buf, sizeof buf, &res, &herr), 0);
  EXPECT_EQ(herr, TRY_AGAIN);
  ASSERT_EQ(grove_gethostbyname2_r("dual.test", AF_INET6, &he, buf, sizeof buf, &res, &herr), 0);
  EXPECT_EQ(he.h_length, 16);
}

TEST_F(Dns, TimeoutScopeAbandonsLookupSafely) {
  use(server.address(), 1000, 1);  // c-ares waits for slow.test's answer (400 ms) without a retry
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(
      {
        grove::Timeout t(50ms);
        grove::resolve("slow.test", "", {AF_INET, 0, 0, 0});
      },
      grove::TimeoutError);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);  // slow.test answers after 400 ms
  {
    grove::Timeout t(50ms);
    addrinfo* res = nullptr;
    errno = 0;
    EXPECT_EQ(gai("slow.test", nullptr, AF_INET, 0, 0, &res), EAI_SYSTEM);
    EXPECT_EQ(errno, ETIMEDOUT);
  }
  EXPECT_EQ(grove::detail::dns::in_flight(), 2u);  // c-ares still owes both answers
  // The abandoned queries complete later; nothing may touch the greenlets that left (ASan).
  ASSERT_TRUE(idle_within(3s));
  EXPECT_EQ(grove::detail::dns::in_flight(), 0u);
  EXPECT_EQ(grove::detail::dns::stats().abandoned, 2u);  // both answers came, and were dropped
  EXPECT_EQ(server.queries("slow.test"), 2);
  EXPECT_EQ(grove::resolve("host.test", "", {AF_INET, SOCK_STREAM, 0, 0}).size(), 1u);
}

TEST_F(Dns, KillAbandonsLookupSafely) {
  for (std::uint64_t round = 1; round <= 3; ++round) {
    auto g = grove::spawn([] { return grove::resolve("slow.test", "", {AF_INET, 0, 0, 0}).size(); });
    ASSERT_TRUE(sent_queries(round));  // g is parked on its answer now
    g.kill();
    EXPECT_TRUE(g.killed());
  }
  auto c = grove::spawn([] {
    addrinfo h{};
    h.ai_family = AF_INET;
    addrinfo* res = nullptr;
    int rc = grove_getaddrinfo("slow.test", nullptr, &h, &res);
    return std::make_pair(rc, errno);
  });
  ASSERT_TRUE(sent_queries(4));
  c.kill_nowait();
  c.join();
  // A C caller gets EAI_SYSTEM/ECANCELED, not an exception: it returns, and had no later blocking
  // call where GreenletExit could be raised.
  ASSERT_TRUE(c.successful());
  EXPECT_EQ(c.get().first, EAI_SYSTEM);
  EXPECT_EQ(c.get().second, ECANCELED);
  ASSERT_TRUE(idle_within(3s));
  EXPECT_EQ(grove::detail::dns::in_flight(), 0u);
  EXPECT_EQ(grove::detail::dns::stats().abandoned, 4u);
}

TEST_F(Dns, ThousandConcurrentLookupsShareTheChannel) {
  server.set_default_delay_ms(200);
  server.add_zone("many.test", "192.0.2.10");
  constexpr int kN = 1000;
  std::vector<grove::Greenlet<std::string>> gs;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i)
    gs.push_back(grove::spawn([i] {
      return grove::resolve("n" + std::to_string(i) + ".many.test", "", {AF_INET, SOCK_STREAM, 0, 0})[0].host();
    }));
  for (auto& g : gs) EXPECT_EQ(g.get(), "192.0.2.10");
  auto took = std::chrono::steady_clock::now() - t0;
  const auto st = grove::detail::dns::stats();
  // Concurrent: the server held every query before it answered the first.
  EXPECT_EQ(server.max_outstanding(), kN);
  // Shared: they came from one socket per channel, as few channels as the sockets' room allows.
  ASSERT_GT(st.answers_per_socket, 0);
  EXPECT_EQ(server.clients(), static_cast<int>(st.channels_peak));
  EXPECT_EQ(st.channels_peak, static_cast<std::size_t>((kN + st.answers_per_socket - 1) / st.answers_per_socket));
  EXPECT_EQ(server.total_queries(), kN);  // none sent twice
  EXPECT_EQ(st.retried, 0u);
  EXPECT_LT(took, 2s) << std::chrono::duration<double, std::milli>(took).count() << " ms";  // one by one: 200 s
}

// P7's failure: a burst of answers larger than a socket's receive buffer lost some of them, and
// their lookups waited for c-ares' retry timer. A 32 KiB request (what the kernel grants is
// twice that) holds about 80 small answers; 1000 lookups of both families are owed 2000.
TEST_F(Dns, BurstLargerThanAReceiveBufferLosesNoAnswer) {
  use(server.address(), 2000, 2, "", 32 << 10);
  server.set_default_delay_ms(50);
  server.add_zone("burst.test", "192.0.2.1", "2001:db8::1");
  constexpr int kN = 1000;
  std::vector<grove::Greenlet<std::size_t>> gs;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i)
    gs.push_back(grove::spawn([i] {
      return grove::resolve("b" + std::to_string(i) + ".burst.test", "", {AF_UNSPEC, SOCK_STREAM, 0, 0}).size();
    }));
  for (auto& g : gs) EXPECT_EQ(g.get(), 2u);
  auto took = std::chrono::steady_clock::now() - t0;
  const auto st = grove::detail::dns::stats();
  EXPECT_EQ(st.kernel_drops, 0u);
  EXPECT_EQ(st.retried, 0u);
  EXPECT_EQ(server.total_queries(), 2 * kN);  // no retransmission
  EXPECT_EQ(server.udp_answers_sent(), 2 * kN);
  EXPECT_GT(st.channels_peak, 1u);  // one socket could not have held them all
  EXPECT_LT(took, 1500ms) << "a lost answer costs a 2 s retry here";
}

// More queries than every socket together has room for: the rest wait, in order, and are sent as
// answers come back; the server never owes more answers than the sockets can hold.
TEST_F(Dns, QueriesBeyondTheSocketsRoomWaitTheirTurn) {
  use(server.address(), 2000, 2, "", 4096);  // 8 KiB granted: 4 answers per socket
  server.set_default_delay_ms(20);
  server.add_zone("paced.test", "192.0.2.2");
  constexpr int kN = 1000;
  std::vector<grove::Greenlet<std::string>> gs;
  for (int i = 0; i < kN; ++i)
    gs.push_back(grove::spawn([i] {
      return grove::resolve("p" + std::to_string(i) + ".paced.test", "", {AF_INET, SOCK_STREAM, 0, 0})[0].host();
    }));
  for (auto& g : gs) EXPECT_EQ(g.get(), "192.0.2.2");
  const auto st = grove::detail::dns::stats();
  EXPECT_GT(st.paced, 0u);
  EXPECT_LT(server.max_outstanding(), kN);
  EXPECT_LE(server.max_outstanding(), st.answers_per_socket * static_cast<int>(st.channels_peak));
  EXPECT_EQ(st.kernel_drops, 0u);
  EXPECT_EQ(st.retried, 0u);
  EXPECT_EQ(server.total_queries(), kN);
  ASSERT_TRUE(idle_within(1s));
  EXPECT_EQ(grove::detail::dns::stats().channels_peak, st.channels_peak);
}

// A lookup abandoned while it waits for room was never sent, and never will be.
TEST_F(Dns, AbandonedWhileWaitingForRoomIsNeverSent) {
  use(server.address(), 2000, 2, "", 1);  // the kernel's minimum: one answer per socket
  server.set_default_delay_ms(100);
  server.add_zone("room.test", "192.0.2.3");
  std::vector<grove::Greenlet<std::size_t>> gs;
  for (int i = 0; i < 100; ++i)
    gs.push_back(grove::spawn([i] { return grove::resolve("r" + std::to_string(i) + ".room.test").size(); }));
  // Every lookup has run up to its park: 200 queries (A and AAAA) submitted, at most one per
  // channel sent, the rest waiting for room.
  for (int i = 0; i < 10000 && grove::detail::dns::in_flight() < 200; ++i) grove::yield();
  ASSERT_EQ(grove::detail::dns::in_flight(), 200u);
  const std::uint64_t sent = grove::detail::dns::stats().queries;
  EXPECT_EQ(sent, grove::detail::dns::stats().channels_peak);
  EXPECT_LT(sent, 200u);
  for (auto& g : gs) g.kill_nowait();
  for (auto& g : gs) g.join();
  ASSERT_TRUE(idle_within(3s));
  EXPECT_EQ(grove::detail::dns::stats().queries, sent);  // the waiting ones were taken back
  EXPECT_EQ(server.total_queries(), static_cast<int>(sent));
  EXPECT_EQ(grove::detail::dns::stats().abandoned, sent);
}

TEST_F(Dns, PlainThreadWithoutGreenlets) {
  std::string got;
  std::thread t([&] {
    grove::detail::dns::Config c;
    c.servers = server.address();
    c.resolv_conf = resolv_;
    grove::detail::dns::configure(c);
    got = grove::resolve("host.test", "", {AF_INET, SOCK_STREAM, 0, 0}).at(0).host();
  });
  t.join();
  EXPECT_EQ(got, "192.0.2.10");
}

TEST_F(Dns, BadServerListIsAClearError) {
  use("not an address");
  try {
    grove::resolve("host.test");
    FAIL() << "expected an error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EINVAL);
  }
  EXPECT_NE(grove::detail::dns::config_error().find("not an address"), std::string::npos);
  addrinfo* res = nullptr;
  EXPECT_EQ(gai("host.test", nullptr, AF_UNSPEC, 0, 0, &res), EAI_SYSTEM);
}

TEST_F(Dns, EnvironmentConfiguresTheChannel) {
  grove::detail::dns::configure({});
  ::setenv("GROVE_DNS_SERVERS", server.address().c_str(), 1);
  ::setenv("GROVE_DNS_TIMEOUT", "0.2", 1);
  ::setenv("GROVE_DNS_TRIES", "1", 1);
  auto v = grove::resolve("host.test", "", {AF_INET, SOCK_STREAM, 0, 0});
  EXPECT_EQ(v.at(0).host(), "192.0.2.10");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of("silent.test", {AF_INET, 0, 0, 0}), EAI_AGAIN);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // 0.2 s, one try
  ::setenv("GROVE_DNS_TIMEOUT", "zero", 1);
  grove::detail::dns::configure({});
  EXPECT_NE(grove::detail::dns::config_error().find("GROVE_DNS_TIMEOUT"), std::string::npos);
  ::unsetenv("GROVE_DNS_SERVERS");
  ::unsetenv("GROVE_DNS_TIMEOUT");
  ::unsetenv("GROVE_DNS_TRIES");
}

TEST_F(Dns, ResolvConfOptionsAreHonoured) {
  // c-ares 1.18 does not read glibc's timeout:/attempts: spellings; grove does.
  std::string rc = write_temp("resolv_opts.conf", "options ndots:1 timeout:1 attempts:1\n");
  use(server.address(), 0, 0, rc);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of("silent.test", {AF_UNSPEC, 0, 0, 0}), EAI_AGAIN);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 1900ms);
  EXPECT_EQ(server.queries("silent.test"), 2);  // A and AAAA, one attempt each
  std::remove(rc.c_str());
}

TEST_F(Dns, ForeignNsswitchSourceRunsLibcOnTheOffloadPool) {
  // A source c-ares cannot answer: the whole lookup goes to libc's own function on a worker
  // thread, which reads the real /etc/nsswitch.conf and /etc/hosts ("localhost" is 127.0.0.1 in
  // every hosts file). The test's hosts file says otherwise, so an answer from grove's own files
  // source would show.
  std::string hosts = write_temp("hosts_foreign", "192.0.2.97 localhost\n127.0.0.1 grove-test-loopback\n");
  std::string nss = write_temp("nsswitch_foreign.conf", "hosts: files mdns4_minimal [NOTFOUND=return] dns\n");
  grove::detail::resolve::set_files_for_tests(hosts, nss);
  addrinfo h{};
  h.ai_family = AF_INET;
  h.ai_socktype = SOCK_STREAM;
  addrinfo* mine = nullptr;
  addrinfo* theirs = nullptr;
  ASSERT_EQ(grove_getaddrinfo("localhost", "80", &h, &mine), 0);
  ASSERT_EQ(::getaddrinfo("localhost", "80", &h, &theirs), 0);
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->ai_family, theirs->ai_family);
  EXPECT_EQ(0, std::memcmp(mine->ai_addr, theirs->ai_addr, theirs->ai_addrlen));
  grove_freeaddrinfo(mine);  // libc's list, freed by libc's freeaddrinfo (ASan would object otherwise)
  ::freeaddrinfo(theirs);
  auto v = grove::resolve("localhost", "", {AF_INET, SOCK_STREAM, 0, 0});
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].host(), "127.0.0.1");

  // gethostbyname2, gethostbyaddr and getnameinfo go the same way.
  hostent* he = grove_gethostbyname2("localhost", AF_INET);
  ASSERT_NE(he, nullptr);
  EXPECT_EQ(std::string(inet_ntoa(*reinterpret_cast<in_addr*>(he->h_addr_list[0]))), "127.0.0.1");
  in_addr lo;
  inet_pton(AF_INET, "127.0.0.1", &lo);
  hostent* libc_he = ::gethostbyaddr(&lo, 4, AF_INET);
  ASSERT_NE(libc_he, nullptr);
  const std::string libc_name = libc_he->h_name;
  he = grove_gethostbyaddr(&lo, 4, AF_INET);
  ASSERT_NE(he, nullptr);
  EXPECT_EQ(he->h_name, libc_name);
  EXPECT_NE(libc_name, "grove-test-loopback");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(80);
  sa.sin_addr = lo;
  char host[256], serv[32];
  ASSERT_EQ(grove_getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, sizeof host, serv, sizeof serv, 0), 0);
  EXPECT_EQ(host, libc_name);
  EXPECT_STREQ(serv, "http");
  EXPECT_EQ(server.total_queries(), 0);
  std::remove(nss.c_str());
  std::remove(hosts.c_str());
}

// An interposer that forgot grove::detail::set_libc_resolver: "libc's" getaddrinfo is then the
// interposer's, which calls grove. With a foreign nsswitch source that would offload again from
// the worker, and again, until the pool is exhausted; instead the worker answers from files and
// dns.
TEST_F(Dns, ALibcResolverThatLeadsBackToGroveDoesNotRecurse) {
  std::string hosts = write_temp("hosts_loop", "192.0.2.96 looped\n");
  std::string nss = write_temp("nsswitch_loop.conf", "hosts: files mdns4_minimal dns\n");
  grove::detail::resolve::set_files_for_tests(hosts, nss);
  grove::detail::LibcResolver back_to_grove;
  back_to_grove.getaddrinfo = [](const char* n, const char* s, const addrinfo* h, addrinfo** r) {
    return grove_getaddrinfo(n, s, h, r);
  };
  back_to_grove.freeaddrinfo = [](addrinfo* ai) { grove_freeaddrinfo(ai); };
  grove::detail::set_libc_resolver(back_to_grove);
  addrinfo* res = nullptr;
  int rc = -1;
  {
    grove::Timeout limit(10s);  // a recursion would exhaust the offload pool and hang here
    rc = gai("looped", nullptr, AF_INET, SOCK_STREAM, 0, &res);
  }
  grove::detail::LibcResolver libc;
  libc.getaddrinfo = &::getaddrinfo;
  libc.freeaddrinfo = &::freeaddrinfo;
  grove::detail::set_libc_resolver(libc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr.s_addr, inet_addr("192.0.2.96"));
  grove_freeaddrinfo(res);
  std::remove(nss.c_str());
  std::remove(hosts.c_str());
}

TEST_F(Dns, NonReentrantVariantsUsePerThreadStorage) {
  hostent* a = grove_gethostbyname("host.test");
  ASSERT_NE(a, nullptr);
  EXPECT_STREQ(a->h_name, "host.test");
  hostent* b = grove_gethostbyname2("six.test", AF_INET6);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a, b);  // same storage, overwritten, as glibc's static result
  EXPECT_EQ(b->h_length, 16);
  h_errno = 0;
  EXPECT_EQ(grove_gethostbyname("nosuch.test"), nullptr);
  EXPECT_EQ(h_errno, HOST_NOT_FOUND);
  errno = 1234;
  addrinfo* res = nullptr;
  ASSERT_EQ(gai("host.test", nullptr, AF_INET, SOCK_STREAM, AI_CANONNAME, &res), 0);
  EXPECT_EQ(errno, 1234);  // untouched on success
  EXPECT_EQ(res->ai_flags, AI_CANONNAME);
  EXPECT_STREQ(res->ai_canonname, "host.test");
  grove_freeaddrinfo(res);
}

TEST_F(Dns, LookupsInManyThreadsAtOnce) {
  // One channel per thread: threads do not share c-ares state.
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      grove::detail::dns::Config c;
      c.servers = server.address();
      c.resolv_conf = resolv_;
      grove::detail::dns::configure(c);
      std::vector<grove::Greenlet<bool>> gs;
      for (int i = 0; i < 50; ++i)
        gs.push_back(grove::spawn([] { return grove::resolve("dual.test", "", {AF_UNSPEC, SOCK_STREAM, 0, 0}).size() == 2; }));
      for (auto& g : gs) ok += g.get();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(Dns, HostileInputsFailCleanly) {
  const std::string label64(64, 'a');
  const std::string long_name = std::string(300, 'b') + ".test";
  for (const std::string& n : {label64 + ".test", long_name, std::string("a b.test"), std::string("..."),
                               std::string("."), std::string("x\x01y.test"), std::string("-.test")}) {
    auto t0 = std::chrono::steady_clock::now();
    int c = code_of(n);
    EXPECT_NE(c, 0) << n;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << n;
  }
  addrinfo h{};
  EXPECT_EQ(grove_getaddrinfo("host.test", nullptr, &h, nullptr), EAI_SYSTEM);
  char host[64];
  EXPECT_EQ(grove_getnameinfo(nullptr, 0, host, sizeof host, nullptr, 0, 0), EAI_FAMILY);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  EXPECT_EQ(grove_getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, nullptr, 0, nullptr, 0, 0), EAI_NONAME);
  EXPECT_EQ(grove_getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, sizeof host, nullptr, 0, 0x8000),
            EAI_BADFLAGS);
  h_errno = 0;
  EXPECT_EQ(grove_gethostbyaddr(nullptr, 4, AF_INET), nullptr);
  EXPECT_EQ(h_errno, NETDB_INTERNAL);
  in_addr a{};
  EXPECT_EQ(grove_gethostbyaddr(&a, 3, AF_INET), nullptr);
  EXPECT_EQ(grove_gethostbyname2("host.test", AF_UNIX), nullptr);
  EXPECT_EQ(grove_gethostbyname(nullptr), nullptr);
  grove_freeaddrinfo(nullptr);
  EXPECT_THROW(grove::reverse_lookup("not-an-ip"), grove::DnsError);
}

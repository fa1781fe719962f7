// test_dns.cpp — grove's resolver against a real DNS server on loopback (dns_server.hpp): glibc's
// semantics, answer by answer. Concurrency, pacing and abandoned lookups: test_dns_load.cpp.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>

#include "dns_fixture.hpp"
#include "grove/detail/libc_resolver.hpp"

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

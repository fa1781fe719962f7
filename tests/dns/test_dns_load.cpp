// test_dns_load.cpp — the resolver under load and interruption: a thousand lookups sharing a
// few sockets, bursts larger than a receive buffer, pacing beyond the sockets' room, and lookups
// abandoned by kill or grove::Timeout (before or after their queries were sent).
#include <gtest/gtest.h>
#include <netdb.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dns_fixture.hpp"
#include "stack.hpp"  // running_on_valgrind

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
  if (grove::detail::running_on_valgrind()) GTEST_SKIP() << "under valgrind: 1000 lookups against a 50 ms server do not fit its timeouts at valgrind's speed";
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "timing-shaped (every query out before the first answer); ThreadSanitizer is too slow for it";
#endif
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
  if (grove::detail::running_on_valgrind()) GTEST_SKIP() << "under valgrind: a 100 ms answer arrives before the kills, at its speed";
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

// glibc_diff — compares grove's resolver with glibc's on the same questions, same server.
//
// Meant to run inside a network namespace (see test_dns_glibc.cpp), where `ip netns exec` has
// bind-mounted our resolv.conf, hosts and nsswitch.conf over /etc and only `lo` is up: glibc's
// stub resolver talks to port 53 only, so this program starts the scripted DNS server on
// 127.0.0.1:53 and then asks both implementations the same table of questions. Every difference
// is printed; the exit status is the number of differences (capped at 100).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dns_server.hpp"
#include "grove/dns_c.h"

namespace {

std::string addr_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN + 16] = "?";
  if (sa->sa_family == AF_INET) {
    auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof buf);
    return std::string(buf) + " port " + std::to_string(ntohs(s4->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof buf);
    return std::string(buf) + "%" + std::to_string(s6->sin6_scope_id) + " port " + std::to_string(ntohs(s6->sin6_port));
  }
  return "family " + std::to_string(sa->sa_family);
}

std::string describe(int rc, const addrinfo* ai) {
  std::string out = "rc=" + std::to_string(rc) + (rc ? std::string(" (") + gai_strerror(rc) + ")" : "");
  for (; rc == 0 && ai; ai = ai->ai_next) {
    out += "\n    fam=" + std::to_string(ai->ai_family) + " sock=" + std::to_string(ai->ai_socktype) +
           " proto=" + std::to_string(ai->ai_protocol) + " " + addr_text(ai->ai_addr) + " len=" +
           std::to_string(ai->ai_addrlen);
    if (ai->ai_canonname) out += " canon=" + std::string(ai->ai_canonname);
  }
  return out;
}

std::string describe_host(const hostent* h, int herr) {
  if (!h) return "null h_errno=" + std::to_string(herr);
  std::string out = "name=" + std::string(h->h_name) + " type=" + std::to_string(h->h_addrtype) +
                    " len=" + std::to_string(h->h_length) + " aliases=";
  for (char** a = h->h_aliases; *a; ++a) out += std::string(*a) + ",";
  out += " addrs=";
  for (char** a = h->h_addr_list; *a; ++a) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(h->h_addrtype, *a, buf, sizeof buf);
    out += std::string(buf) + ",";
  }
  return out;
}

int differences = 0, compared = 0;

void check(const std::string& what, const std::string& glibc, const std::string& grove) {
  ++compared;
  if (std::getenv("GROVE_DIFF_VERBOSE")) std::printf("SAME? %s\n  glibc: %s\n", what.c_str(), glibc.c_str());
  if (glibc == grove) return;
  ++differences;
  std::printf("DIFF %s\n  glibc: %s\n  grove: %s\n", what.c_str(), glibc.c_str(), grove.c_str());
}

std::string flag_names(int f) {
  std::string s;
  const std::pair<int, const char*> names[] = {{AI_PASSIVE, "PASSIVE"},     {AI_CANONNAME, "CANONNAME"},
                                               {AI_NUMERICHOST, "NUMERICHOST"}, {AI_V4MAPPED, "V4MAPPED"},
                                               {AI_ALL, "ALL"},              {AI_ADDRCONFIG, "ADDRCONFIG"},
                                               {AI_NUMERICSERV, "NUMERICSERV"}};
  for (auto& [bit, n] : names)
    if (f & bit) s += std::string(s.empty() ? "" : "|") + n;
  return s.empty() ? "0" : s;
}

void compare_gai(const char* node, const char* serv, int family, int socktype, int flags, bool null_hints = false) {
  addrinfo h{};
  h.ai_family = family;
  h.ai_socktype = socktype;
  h.ai_flags = flags;
  addrinfo* a = nullptr;
  addrinfo* b = nullptr;
  auto t0 = std::chrono::steady_clock::now();
  int ra = ::getaddrinfo(node, serv, null_hints ? nullptr : &h, &a);
  auto t1 = std::chrono::steady_clock::now();
  int rb = grove_getaddrinfo(node, serv, null_hints ? nullptr : &h, &b);
  auto t2 = std::chrono::steady_clock::now();
  if (t2 - t0 > std::chrono::milliseconds(500))
    std::printf("SLOW %s %s: glibc %.0f ms, grove %.0f ms\n", node ? node : "NULL", serv ? serv : "NULL",
                std::chrono::duration<double, std::milli>(t1 - t0).count(),
                std::chrono::duration<double, std::milli>(t2 - t1).count());
  auto quoted = [](const char* s) { return s ? std::string(1, '"').append(s).append(1, '"') : std::string("NULL"); };
  std::string what = std::string("getaddrinfo(") + quoted(node) + ", " + quoted(serv) +
                     (null_hints ? ", NULL hints)"
                                 : ", family=" + std::to_string(family) + " socktype=" + std::to_string(socktype) +
                                       " flags=" + flag_names(flags) + ")");
  check(what, describe(ra, a), describe(rb, b));
  if (ra == 0) ::freeaddrinfo(a);
  if (rb == 0) grove_freeaddrinfo(b);
}

}  // namespace

int main() {
  grove::test::DnsServer server(53, "127.0.0.1");
  server.add_a("host.test", "192.0.2.10");
  server.add_a("dual.test", "192.0.2.11");
  server.add_aaaa("dual.test", "2001:db8::11");
  server.add_a("multi.test", "192.0.2.1");
  server.add_a("multi.test", "192.0.2.2");
  server.add_a("multi.test", "192.0.2.3");
  server.add_aaaa("multi.test", "2001:db8::1");
  server.add_aaaa("multi.test", "::ffff:192.0.2.9");
  server.add_aaaa("six.test", "2001:db8::6");
  server.add_a("loop.test", "127.0.0.2");
  server.add_aaaa("loop.test", "::1");
  server.add_cname("alias.test", "mid.test");
  server.add_cname("mid.test", "real.test");
  server.add_a("real.test", "192.0.2.20");
  server.add_aaaa("real.test", "2001:db8::20");
  server.add_cname("dangling.test", "nowhere.test");
  server.add_empty("empty.test");
  server.set_rcode("servfail.test", 2);
  server.set_rcode("refused.test", 5);
  server.set_mode("big.test", grove::test::DnsServer::Mode::truncate);
  server.add_a("big.test", "192.0.2.30");
  server.add_a("www.example.test", "192.0.2.50");
  server.add_a("two.dots.name", "192.0.2.60");
  server.add_ptr("10.2.0.192.in-addr.arpa", "host.test");
  server.add_ptr("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "six.test");

  const char* names[] = {"host.test", "dual.test", "multi.test", "six.test", "loop.test", "alias.test",
                         "dangling.test", "nosuch.test", "empty.test", "servfail.test", "refused.test",
                         "big.test", "www", "www.example.test.", "HOST.TEST", "two.dots.name", "localhost",
                         "filehost", "filealias", "file6", "192.0.2.1", "127.1", "::1", "::ffff:1.2.3.4",
                         "fe80::1%1", "fe80::1%lo", "fe80::1%nosuchif", "1.2.3.4 junk", "", "a..b", "*",
                         "-bad-.test", "...", ".", "a b.test",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test"};
  const int families[] = {AF_UNSPEC, AF_INET, AF_INET6};
  const int flagsets[] = {0,           AI_CANONNAME,          AI_ADDRCONFIG,
                          AI_V4MAPPED, AI_V4MAPPED | AI_ALL, AI_NUMERICHOST,
                          AI_PASSIVE,  AI_CANONNAME | AI_ADDRCONFIG | AI_V4MAPPED};
  for (const char* n : names)
    for (int f : families)
      for (int fl : flagsets) compare_gai(n, nullptr, f, SOCK_STREAM, fl);
  for (const char* n : {"host.test", "dual.test", "localhost", "::1"})
    for (int f : families) {
      compare_gai(n, nullptr, f, 0, 0);
      compare_gai(n, nullptr, f, 0, AI_CANONNAME);
    }
  compare_gai("dual.test", nullptr, 0, 0, 0, true);
  compare_gai("localhost", "http", 0, 0, 0, true);
  const char* services[] = {"80", "http", "domain", "ssh", "nosuchservice", "65536", " 80", "-1", "", "*"};
  for (const char* s : services)
    for (int st : {0, static_cast<int>(SOCK_STREAM), static_cast<int>(SOCK_DGRAM), static_cast<int>(SOCK_RAW)})
      for (int fl : {0, AI_NUMERICSERV, AI_PASSIVE}) {
        compare_gai("host.test", s, AF_INET, st, fl);
        compare_gai(nullptr, s, AF_UNSPEC, st, fl);
      }
  for (int proto : {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP}) {
    addrinfo h{};
    h.ai_protocol = proto;
    addrinfo *a = nullptr, *b = nullptr;
    int ra = ::getaddrinfo("192.0.2.1", "domain", &h, &a), rb = grove_getaddrinfo("192.0.2.1", "domain", &h, &b);
    check("getaddrinfo(192.0.2.1, domain, protocol " + std::to_string(proto) + ")", describe(ra, a), describe(rb, b));
    if (ra == 0) ::freeaddrinfo(a);
    if (rb == 0) grove_freeaddrinfo(b);
  }
  // A server that never answers: both give up after resolv.conf's timeout and attempts. (With
  // AF_INET alone glibc goes on to the search list after a timeout and reports EAI_NONAME;
  // c-ares stops at the timeout: a known difference, see include/grove/dns.hpp.)
  server.set_mode("silent.test", grove::test::DnsServer::Mode::drop);
  compare_gai("silent.test", nullptr, AF_UNSPEC, SOCK_STREAM, 0);
  server.set_mode("garbage.test", grove::test::DnsServer::Mode::garbage);
  compare_gai("garbage.test", nullptr, AF_UNSPEC, SOCK_STREAM, 0);
  compare_gai("host.test", nullptr, AF_UNIX, 0, 0);
  compare_gai("host.test", nullptr, AF_UNSPEC, 99, 0);
  compare_gai("host.test", nullptr, AF_UNSPEC, 0, 0x4000);
  compare_gai(nullptr, nullptr, AF_UNSPEC, 0, 0);
  compare_gai(nullptr, "80", AF_UNSPEC, 0, AI_CANONNAME);

  // gethostbyname2 / gethostbyaddr
  for (const char* n : names)
    for (int f : {AF_INET, AF_INET6}) {
      hostent* a = ::gethostbyname2(n, f);
      std::string da = describe_host(a, h_errno);
      hostent* b = grove_gethostbyname2(n, f);
      std::string db = describe_host(b, h_errno);
      check(std::string("gethostbyname2(\"") + n + "\", " + std::to_string(f) + ")", da, db);
    }
  for (const char* ip : {"192.0.2.10", "192.0.2.99", "127.0.0.1", "192.0.2.77", "2001:db8::1", "::1"}) {
    unsigned char buf[16];
    int f = std::strchr(ip, ':') ? AF_INET6 : AF_INET;
    inet_pton(f, ip, buf);
    socklen_t len = f == AF_INET ? 4 : 16;
    hostent* a = ::gethostbyaddr(buf, len, f);
    std::string da = describe_host(a, h_errno);
    hostent* b = grove_gethostbyaddr(buf, len, f);
    std::string db = describe_host(b, h_errno);
    check(std::string("gethostbyaddr(") + ip + ")", da, db);
    // getnameinfo on the same address.
    sockaddr_storage ss{};
    socklen_t sl;
    if (f == AF_INET) {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(53);
      std::memcpy(&s4->sin_addr, buf, 4);
      sl = sizeof *s4;
    } else {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(22);
      std::memcpy(&s6->sin6_addr, buf, 16);
      sl = sizeof *s6;
    }
    for (int fl : {0, NI_NUMERICHOST, NI_NUMERICSERV, NI_NAMEREQD, NI_DGRAM, NI_NOFQDN}) {
      char h1[256] = "", s1[64] = "", h2[256] = "", s2[64] = "";
      int r1 = ::getnameinfo(reinterpret_cast<sockaddr*>(&ss), sl, h1, sizeof h1, s1, sizeof s1, fl);
      int r2 = grove_getnameinfo(reinterpret_cast<sockaddr*>(&ss), sl, h2, sizeof h2, s2, sizeof s2, fl);
      check(std::string("getnameinfo(") + ip + ", flags " + std::to_string(fl) + ")",
            std::to_string(r1) + " " + h1 + " " + s1, std::to_string(r2) + " " + h2 + " " + s2);
    }
  }
  std::printf("%d comparisons, %d differences\n", compared, differences);
  return differences > 100 ? 100 : differences;
}

// test_dns_parts.cpp — the DNS transport's pure parts on their own, without a network: reading
// answers (dns_answer.hpp), resolv.conf options and GROVE_DNS_* values (dns_config.hpp), and the
// SERVFAIL memo (dns_servfail.hpp). Messages are built byte by byte here.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dns_answer.hpp"
#include "dns_config.hpp"
#include "dns_servfail.hpp"

namespace d = grove::detail::dns;
using d::Status;

namespace {

// A DNS message, written in order: header, one question, answer records.
class Msg {
 public:
  explicit Msg(const std::string& qname, int qtype = d::kTypeA, int rcode = 0, bool response = true) {
    put16(0x1234);
    put16((response ? 0x8000 : 0) | 0x0100 | (response ? 0x0080 : 0) | rcode);
    put16(1);  // QDCOUNT
    put16(0);  // ANCOUNT, patched by each record
    put16(0);
    put16(0);
    qname_at_ = bytes_.size();
    name(qname);
    put16(static_cast<unsigned>(qtype));
    put16(d::kClassIn);
  }
  // Offset of the question's name, for compression pointers.
  std::size_t qname_at() const { return qname_at_; }

  Msg& a(const std::string& owner, const char* ip) { return addr(owner, d::kTypeA, AF_INET, ip, 4); }
  Msg& aaaa(const std::string& owner, const char* ip) { return addr(owner, d::kTypeAaaa, AF_INET6, ip, 16); }
  Msg& cname(const std::string& owner, const std::string& target) { return named(owner, d::kTypeCname, target); }
  Msg& ptr(const std::string& owner, const std::string& target) { return named(owner, d::kTypePtr, target); }
  // A record whose owner is a compression pointer to `at`.
  Msg& a_at(std::size_t at, const char* ip) {
    record_start();
    put16(0xc000 | static_cast<unsigned>(at));
    return addr_rest(d::kTypeA, AF_INET, ip, 4);
  }
  Msg& raw_record(const std::string& owner, int type, int rclass, std::vector<std::uint8_t> rdata) {
    record_start();
    name(owner);
    put16(static_cast<unsigned>(type));
    put16(static_cast<unsigned>(rclass));
    put32(60);
    put16(static_cast<unsigned>(rdata.size()));
    bytes_.insert(bytes_.end(), rdata.begin(), rdata.end());
    return *this;
  }
  void truncate(std::size_t n) { bytes_.resize(n); }
  std::vector<std::uint8_t>& bytes() { return bytes_; }
  const unsigned char* data() const { return bytes_.data(); }
  std::size_t size() const { return bytes_.size(); }

 private:
  void put16(unsigned v) {
    bytes_.push_back(static_cast<std::uint8_t>(v >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(v));
  }
  void put32(unsigned v) {
    put16(v >> 16);
    put16(v & 0xffff);
  }
  void name(const std::string& n) {
    std::size_t start = 0;
    while (start < n.size()) {
      std::size_t dot = n.find('.', start);
      if (dot == std::string::npos) dot = n.size();
      bytes_.push_back(static_cast<std::uint8_t>(dot - start));
      bytes_.insert(bytes_.end(), n.begin() + static_cast<long>(start), n.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    bytes_.push_back(0);
  }
  void record_start() {
    const unsigned an = (unsigned{bytes_[6]} << 8 | bytes_[7]) + 1;
    bytes_[6] = static_cast<std::uint8_t>(an >> 8);
    bytes_[7] = static_cast<std::uint8_t>(an);
  }
  Msg& addr(const std::string& owner, int type, int af, const char* ip, int len) {
    record_start();
    name(owner);
    return addr_rest(type, af, ip, len);
  }
  Msg& addr_rest(int type, int af, const char* ip, int len) {
    put16(static_cast<unsigned>(type));
    put16(d::kClassIn);
    put32(60);
    put16(static_cast<unsigned>(len));
    unsigned char buf[16];
    EXPECT_EQ(inet_pton(af, ip, buf), 1) << ip;
    bytes_.insert(bytes_.end(), buf, buf + len);
    return *this;
  }
  Msg& named(const std::string& owner, int type, const std::string& target) {
    record_start();
    name(owner);
    put16(static_cast<unsigned>(type));
    put16(d::kClassIn);
    put32(60);
    const std::size_t len_at = bytes_.size();
    put16(0);
    const std::size_t start = bytes_.size();
    name(target);
    const std::size_t rdlen = bytes_.size() - start;
    bytes_[len_at] = static_cast<std::uint8_t>(rdlen >> 8);
    bytes_[len_at + 1] = static_cast<std::uint8_t>(rdlen);
    return *this;
  }

  std::vector<std::uint8_t> bytes_;
  std::size_t qname_at_ = 0;
};

std::vector<std::string> texts(const std::vector<d::Ip>& ips) {
  std::vector<std::string> out;
  for (const auto& ip : ips) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(ip.family, ip.bytes, buf, sizeof buf);
    out.push_back(buf);
  }
  return out;
}

d::HostAnswer parse(const Msg& m, int qtype = d::kTypeA) {
  d::HostAnswer h;
  d::add_address_answer(h, qtype, Status::ok, m.data(), m.size());
  return h;
}

}  // namespace

TEST(DnsAnswer, AddressesOfTheQuestionsName) {
  Msg m("host.test");
  m.a("host.test", "192.0.2.1").a("HOST.test", "192.0.2.2");  // owner names compare case-insensitively
  d::HostAnswer h = parse(m);
  EXPECT_EQ(h.v4, Status::ok);
  EXPECT_EQ(texts(h.addrs), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(h.canonical, "host.test");
  EXPECT_TRUE(h.aliases.empty());
}

TEST(DnsAnswer, CnameChainGivesAliasesAndTheCanonicalName) {
  Msg m("alias.test");
  m.cname("alias.test", "mid.test").cname("mid.test", "real.test").a("real.test", "192.0.2.20");
  d::HostAnswer h = parse(m);
  EXPECT_EQ(h.v4, Status::ok);
  EXPECT_EQ(h.canonical, "real.test");
  EXPECT_EQ(h.aliases, (std::vector<std::string>{"alias.test", "mid.test"}));
  EXPECT_EQ(texts(h.addrs), std::vector<std::string>{"192.0.2.20"});
}

TEST(DnsAnswer, RecordsOffTheChainAreIgnored) {
  Msg m("host.test");
  m.a("other.test", "192.0.2.9").cname("unrelated.test", "x.test").aaaa("host.test", "2001:db8::1");
  d::HostAnswer h = parse(m);
  EXPECT_EQ(h.v4, Status::no_data);  // the only A record belongs to another name
  EXPECT_TRUE(h.addrs.empty());
  EXPECT_TRUE(h.aliases.empty());
}

TEST(DnsAnswer, DanglingCnameIsAFailureAndEmptyAnswerIsNoData) {
  Msg dangling("dangling.test");
  dangling.cname("dangling.test", "nowhere.test");
  EXPECT_EQ(parse(dangling).v4, Status::fail);  // glibc: NO_RECOVERY
  Msg empty("empty.test");
  EXPECT_EQ(parse(empty).v4, Status::no_data);
}

TEST(DnsAnswer, WrongLengthAndClassAreSkipped) {
  Msg m("host.test");
  m.raw_record("host.test", d::kTypeA, d::kClassIn, {1, 2, 3});      // A with 3 bytes
  m.raw_record("host.test", d::kTypeA, 3 /* CHAOS */, {1, 2, 3, 4});  // not IN
  m.a("host.test", "192.0.2.7");
  EXPECT_EQ(texts(parse(m).addrs), std::vector<std::string>{"192.0.2.7"});
}

TEST(DnsAnswer, CompressedOwnerNames) {
  Msg m("host.test");
  m.a_at(m.qname_at(), "192.0.2.3");
  d::HostAnswer h = parse(m);
  EXPECT_EQ(h.v4, Status::ok);
  EXPECT_EQ(texts(h.addrs), std::vector<std::string>{"192.0.2.3"});
}

TEST(DnsAnswer, MalformedMessagesFailWithoutReadingPastTheEnd) {
  Msg full("host.test");
  full.a("host.test", "192.0.2.1");
  for (std::size_t n = 0; n < full.size(); ++n) {
    Msg cut = full;
    cut.truncate(n);
    // Parse a heap copy of exactly n bytes: ASan reports any read beyond it.
    std::vector<unsigned char> exact(cut.bytes().begin(), cut.bytes().end());
    d::HostAnswer h;
    d::add_address_answer(h, d::kTypeA, Status::ok, exact.data(), exact.size());
    EXPECT_EQ(h.v4, Status::fail) << "cut at " << n;
  }
  Msg loop("host.test");
  loop.a_at(loop.size() + 0, "192.0.2.1");  // owner: a pointer to itself
  // The record starts where the pointer is, so the pointer points at itself.
  d::HostAnswer h = parse(loop);
  EXPECT_EQ(h.v4, Status::fail);
  Msg two_questions("host.test");
  two_questions.bytes()[5] = 2;
  EXPECT_EQ(parse(two_questions).v4, Status::fail);
}

TEST(DnsAnswer, SpecialBytesInLabelsAreEscapedAsCaresDoes) {
  Msg m("x.test");
  std::vector<std::uint8_t> rdata = {3, 'a', '.', 'b', 1, 0x01, 4, 't', 'e', 's', 't', 0};
  m.raw_record("x.test", d::kTypeCname, d::kClassIn, rdata);
  d::HostAnswer h = parse(m);
  EXPECT_EQ(h.v4, Status::fail);  // a CNAME to nowhere
  EXPECT_EQ(h.aliases, std::vector<std::string>{});  // only successful answers are kept
  d::PtrAnswer p;
  Msg r("1.2.0.192.in-addr.arpa", d::kTypePtr);
  r.raw_record("1.2.0.192.in-addr.arpa", d::kTypePtr, d::kClassIn, rdata);
  d::read_ptr_answer(p, Status::ok, r.data(), r.size());
  EXPECT_EQ(p.status, Status::ok);
  EXPECT_EQ(p.name, "a\\.b.\\001.test");
}

TEST(DnsAnswer, AThenAaaaWhicheverArrivesFirst) {
  Msg six("dual.test", d::kTypeAaaa);
  six.cname("dual.test", "v6name.test").aaaa("v6name.test", "2001:db8::1");
  Msg four("dual.test");
  four.cname("dual.test", "v4name.test").a("v4name.test", "192.0.2.1");
  d::HostAnswer h;
  d::add_address_answer(h, d::kTypeAaaa, Status::ok, six.data(), six.size());
  d::add_address_answer(h, d::kTypeA, Status::ok, four.data(), four.size());
  EXPECT_EQ(texts(h.addrs), (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
  EXPECT_EQ(h.canonical, "v4name.test");  // the A answer's name wins
  EXPECT_EQ(h.aliases, std::vector<std::string>{"dual.test"});  // not repeated
  EXPECT_EQ(h.v4, Status::ok);
  EXPECT_EQ(h.v6, Status::ok);
}

TEST(DnsAnswer, TransportFailureIsKeptPerFamily) {
  d::HostAnswer h;
  d::add_address_answer(h, d::kTypeA, Status::try_again, nullptr, 0);
  d::add_address_answer(h, d::kTypeAaaa, Status::not_found, nullptr, 0);
  EXPECT_EQ(h.v4, Status::try_again);
  EXPECT_EQ(h.v6, Status::not_found);
  EXPECT_TRUE(h.addrs.empty());
}

TEST(DnsAnswer, FirstPtrAfterCnames) {
  Msg m("10.2.0.192.in-addr.arpa", d::kTypePtr);
  m.cname("10.2.0.192.in-addr.arpa", "10.sub.2.0.192.in-addr.arpa")
      .ptr("10.2.0.192.in-addr.arpa", "stale.test")  // off the chain now
      .ptr("10.sub.2.0.192.in-addr.arpa", "first.test")
      .ptr("10.sub.2.0.192.in-addr.arpa", "second.test");
  d::PtrAnswer p;
  d::read_ptr_answer(p, Status::ok, m.data(), m.size());
  EXPECT_EQ(p.status, Status::ok);
  EXPECT_EQ(p.name, "first.test");
  EXPECT_TRUE(p.aliases.empty());
  Msg none("11.2.0.192.in-addr.arpa", d::kTypePtr);
  d::read_ptr_answer(p, Status::ok, none.data(), none.size());
  EXPECT_EQ(p.status, Status::no_data);
  d::read_ptr_answer(p, Status::not_found, nullptr, 0);
  EXPECT_EQ(p.status, Status::not_found);
}

TEST(DnsAnswer, ResponseQuestion) {
  Msg m("MiXed.Test", d::kTypeA, 2);
  std::string q;
  int rcode = -1;
  ASSERT_TRUE(d::response_question(m.data(), m.size(), &q, &rcode));
  EXPECT_EQ(q, "mixed.test");
  EXPECT_EQ(rcode, 2);
  Msg query("x.test", d::kTypeA, 0, /*response=*/false);
  EXPECT_FALSE(d::response_question(query.data(), query.size(), &q, &rcode));
  EXPECT_FALSE(d::response_question(m.data(), 11, &q, &rcode));
}

TEST(DnsAnswer, CombineKeepsTheMostHopefulStatus) {
  EXPECT_EQ(d::combine(Status::ok, Status::not_found), Status::ok);
  EXPECT_EQ(d::combine(Status::fail, Status::ok), Status::ok);
  EXPECT_EQ(d::combine(Status::not_found, Status::try_again), Status::try_again);
  EXPECT_EQ(d::combine(Status::no_data, Status::try_again), Status::no_data);
  EXPECT_EQ(d::combine(Status::server_failure, Status::not_found), Status::server_failure);
  EXPECT_EQ(d::combine(Status::fail, Status::not_found), Status::not_found);
}

TEST(DnsAnswer, ReverseNames) {
  d::Ip v4;
  v4.family = AF_INET;
  inet_pton(AF_INET, "192.0.2.10", v4.bytes);
  EXPECT_EQ(d::reverse_name(v4), "10.2.0.192.in-addr.arpa");
  d::Ip v6;
  v6.family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::1", v6.bytes);
  EXPECT_EQ(d::reverse_name(v6), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST(DnsServerFailures, RemembersFailedQuestionsOnce) {
  d::ServerFailures f;
  Msg servfail("Broken.Test", d::kTypeA, 2);
  Msg refused("www.refused.test.example.org", d::kTypeA, 5);
  Msg nxdomain("gone.test", d::kTypeA, 3);
  Msg query("asked.test", d::kTypeA, 2, /*response=*/false);
  f.note(servfail.data(), servfail.size());
  f.note(refused.data(), refused.size());
  f.note(nxdomain.data(), nxdomain.size());
  f.note(query.data(), query.size());
  EXPECT_EQ(f.size(), 2u);
  EXPECT_FALSE(f.take("gone.test"));
  EXPECT_FALSE(f.take("asked.test"));
  EXPECT_TRUE(f.take("broken.test."));
  EXPECT_FALSE(f.take("broken.test"));  // forgotten once taken
  EXPECT_FALSE(f.take("www.refused.te"));   // a prefix that ends inside a label is another name
  EXPECT_TRUE(f.take("WWW.refused.test"));  // the name with a search-list suffix
  EXPECT_EQ(f.size(), 0u);
}

TEST(DnsServerFailures, Bounded) {
  d::ServerFailures f;
  for (std::size_t i = 0; i < d::ServerFailures::kMaxNames + 10; ++i) {
    Msg m(std::string("n").append(std::to_string(i)).append(".test"), d::kTypeA, 2);
    f.note(m.data(), m.size());
  }
  EXPECT_EQ(f.size(), d::ServerFailures::kMaxNames);
  f.clear();
  EXPECT_EQ(f.size(), 0u);
}

TEST(DnsConfig, ResolvOptions) {
  d::ResolvOptions o = d::parse_resolv_options("nameserver 127.0.0.1\noptions ndots:2 timeout:3\n"
                                               "  options attempts:4 rotate\noptionsx timeout:9\n",
                                               "");
  EXPECT_EQ(o.timeout_s, 3);
  EXPECT_EQ(o.attempts, 4);
  EXPECT_TRUE(o.rotate);
  o = d::parse_resolv_options("options timeout:99 attempts:0\n", "");
  EXPECT_EQ(o.timeout_s, 30);  // glibc's caps
  EXPECT_EQ(o.attempts, 1);
  o = d::parse_resolv_options("options timeout:2\noptions timeout:4", "timeout:7");
  EXPECT_EQ(o.timeout_s, 7);  // later lines win, RES_OPTIONS over the file
  o = d::parse_resolv_options("", "");
  EXPECT_EQ(o.timeout_s, 5);
  EXPECT_EQ(o.attempts, 2);
  EXPECT_FALSE(o.rotate);
}

TEST(DnsConfig, Numbers) {
  EXPECT_EQ(d::parse_seconds_ms("0.2"), 200);
  EXPECT_EQ(d::parse_seconds_ms("5"), 5000);
  EXPECT_EQ(d::parse_seconds_ms("0.0001"), 1);
  for (const char* bad : {"", "zero", "0", "-1", "1s", "nan", "1e300"}) EXPECT_EQ(d::parse_seconds_ms(bad), -1) << bad;
  EXPECT_EQ(d::parse_positive_int("3"), 3);
  for (const char* bad : {"", "0", "-2", "2.5", "x"}) EXPECT_EQ(d::parse_positive_int(bad), -1) << bad;
}

TEST(DnsConfig, ExplicitValuesWinOverEnvironmentAndFile) {
  const std::string path = "/tmp/grove_test_dns_parts_" + std::to_string(::getpid()) + ".conf";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("options timeout:3 attempts:4\n", f);
    std::fclose(f);
  }
  ::setenv("GROVE_DNS_TRIES", "6", 1);
  d::Config cfg;
  cfg.resolv_conf = path;
  cfg.timeout_ms = 250;
  d::Settings s;
  std::string err;
  ASSERT_TRUE(d::resolve_settings(cfg, s, &err)) << err;
  EXPECT_EQ(s.timeout_ms, 250);  // explicit
  EXPECT_EQ(s.tries, 6);         // environment over the file
  EXPECT_EQ(s.udp_receive_buffer, 4 << 20);
  ::setenv("GROVE_DNS_TRIES", "many", 1);
  EXPECT_FALSE(d::resolve_settings(cfg, s, &err));
  EXPECT_NE(err.find("GROVE_DNS_TRIES"), std::string::npos);
  ::unsetenv("GROVE_DNS_TRIES");
  cfg.timeout_ms = 0;
  ASSERT_TRUE(d::resolve_settings(cfg, s, &err));
  EXPECT_EQ(s.timeout_ms, 3000);  // the file
  EXPECT_EQ(s.tries, 4);
  std::remove(path.c_str());
}

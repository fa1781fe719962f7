// dns_server.cpp — see dns_server.hpp. Test code: plain sockets, one thread, poll().
#include "dns_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <system_error>

namespace grove::test {

namespace {

constexpr int kA = 1, kCname = 5, kPtr = 12, kAaaa = 28;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<std::uint8_t> wire_name(const std::string& name) {
  std::vector<std::uint8_t> out;
  std::size_t start = 0;
  std::string n = lower(name);
  while (start < n.size()) {
    std::size_t dot = n.find('.', start);
    if (dot == std::string::npos) dot = n.size();
    out.push_back(static_cast<std::uint8_t>(dot - start));
    out.insert(out.end(), n.begin() + static_cast<long>(start), n.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

void put16(std::vector<std::uint8_t>& v, unsigned x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x));
}

[[noreturn]] void sys_fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

DnsServer::DnsServer(std::uint16_t port, const std::string& ip) : ip_(ip) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) throw std::invalid_argument("DnsServer: bad ip " + ip);
  // UDP and TCP on the same port: with port 0, retry until a number is free for both.
  for (int attempt = 0;; ++attempt) {
    sa.sin_port = htons(port);
    udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (udp_ < 0) sys_fail("DnsServer: socket");
    int big = 8 << 20;
    ::setsockopt(udp_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    ::setsockopt(udp_, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    if (::bind(udp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) sys_fail("DnsServer: bind udp");
    socklen_t len = sizeof sa;
    ::getsockname(udp_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tcp_ < 0) sys_fail("DnsServer: socket");
    int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(tcp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) break;
    if (port != 0 || attempt >= 50) sys_fail("DnsServer: bind tcp");
    ::close(udp_);
    ::close(tcp_);
  }
  if (::listen(tcp_, 64) < 0) sys_fail("DnsServer: listen");
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) < 0) sys_fail("DnsServer: pipe");
  thread_ = std::thread([this] { run(); });
}

DnsServer::~DnsServer() {
  stop_ = true;
  char c = 1;
  [[maybe_unused]] auto w = ::write(wake_[1], &c, 1);
  thread_.join();
  ::close(udp_);
  ::close(tcp_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::string DnsServer::address() const { return ip_ + ":" + std::to_string(port_); }

void DnsServer::add_a(const std::string& name, const std::string& ipv4) {
  Record r{kA, std::vector<std::uint8_t>(4)};
  if (::inet_pton(AF_INET, ipv4.c_str(), r.rdata.data()) != 1) throw std::invalid_argument("bad IPv4 " + ipv4);
  std::lock_guard l(mu_);
  records_[lower(name)].push_back(r);
}

void DnsServer::add_aaaa(const std::string& name, const std::string& ipv6) {
  Record r{kAaaa, std::vector<std::uint8_t>(16)};
  if (::inet_pton(AF_INET6, ipv6.c_str(), r.rdata.data()) != 1) throw std::invalid_argument("bad IPv6 " + ipv6);
  std::lock_guard l(mu_);
  records_[lower(name)].push_back(r);
}

void DnsServer::add_cname(const std::string& name, const std::string& target) {
  std::lock_guard l(mu_);
  records_[lower(name)].push_back(Record{kCname, wire_name(target)});
}

void DnsServer::add_ptr(const std::string& arpa, const std::string& target) {
  std::lock_guard l(mu_);
  records_[lower(arpa)].push_back(Record{kPtr, wire_name(target)});
}

void DnsServer::add_empty(const std::string& name) {
  std::lock_guard l(mu_);
  behaviour_[lower(name)].exists = true;
}

void DnsServer::set_rcode(const std::string& name, int rcode) {
  std::lock_guard l(mu_);
  behaviour_[lower(name)].rcode = rcode;
}

void DnsServer::set_delay_ms(const std::string& name, int ms) {
  std::lock_guard l(mu_);
  behaviour_[lower(name)].delay_ms = ms;
}

void DnsServer::set_mode(const std::string& name, Mode m) {
  std::lock_guard l(mu_);
  behaviour_[lower(name)].mode = m;
}

void DnsServer::set_default_delay_ms(int ms) {
  std::lock_guard l(mu_);
  default_delay_ms_ = ms;
}

void DnsServer::add_zone(const std::string& suffix, const std::string& ipv4, const std::string& ipv6) {
  std::vector<Record> recs;
  Record a{kA, std::vector<std::uint8_t>(4)};
  if (::inet_pton(AF_INET, ipv4.c_str(), a.rdata.data()) != 1) throw std::invalid_argument("bad IPv4 " + ipv4);
  recs.push_back(a);
  if (!ipv6.empty()) {
    Record r{kAaaa, std::vector<std::uint8_t>(16)};
    if (::inet_pton(AF_INET6, ipv6.c_str(), r.rdata.data()) != 1) throw std::invalid_argument("bad IPv6 " + ipv6);
    recs.push_back(r);
  }
  std::lock_guard l(mu_);
  zones_.emplace_back(std::string(".").append(lower(suffix)), std::move(recs));
}

int DnsServer::queries(const std::string& name) const {
  std::lock_guard l(mu_);
  auto it = counts_.find(lower(name));
  return it == counts_.end() ? 0 : it->second;
}

int DnsServer::clients() const {
  std::lock_guard l(mu_);
  return static_cast<int>(clients_.size());
}

void DnsServer::reset_counters() {
  std::lock_guard l(mu_);
  counts_.clear();
  clients_.clear();
  total_ = 0;
  tcp_queries_ = 0;
  udp_sent_ = 0;
  udp_send_errors_ = 0;
  max_outstanding_ = 0;
}

int DnsServer::total_queries() const {
  std::lock_guard l(mu_);
  return total_;
}

bool DnsServer::answer(const std::vector<std::uint8_t>& q, bool tcp, std::vector<std::uint8_t>& reply, int* delay_ms) {
  if (q.size() < 12) return false;
  // Question: labels, no compression in queries.
  std::size_t p = 12;
  std::string qname;
  while (p < q.size() && q[p] != 0) {
    std::size_t n = q[p++];
    if (n > 63 || p + n > q.size()) return false;
    if (!qname.empty()) qname += '.';
    qname.append(reinterpret_cast<const char*>(&q[p]), n);
    p += n;
  }
  if (p + 5 > q.size()) return false;
  ++p;
  const int qtype = (q[p] << 8) | q[p + 1];
  const std::size_t qend = p + 4;
  const std::string key = lower(qname);

  std::lock_guard l(mu_);
  ++counts_[key];
  ++total_;
  Behaviour b;
  if (auto it = behaviour_.find(key); it != behaviour_.end()) b = it->second;
  *delay_ms = b.delay_ms >= 0 ? b.delay_ms : default_delay_ms_;
  if (b.mode == Mode::drop) return false;
  if (b.mode == Mode::garbage) {
    reply.assign({q[0], q[1], 0xff, 0xff, 0x12, 0x34, 0xde, 0xad});  // right id, nonsense after
    return true;
  }
  reply.assign(q.begin(), q.begin() + static_cast<long>(qend));
  reply[2] = static_cast<std::uint8_t>(0x84 | (q[2] & 0x01));  // QR, AA, RD copied
  reply[3] = 0x80;                                              // RA
  reply[4] = 0, reply[5] = 1;                                   // one question
  for (int i = 6; i < 12; ++i) reply[i] = 0;
  if (b.mode == Mode::truncate && !tcp) {
    reply[2] |= 0x02;  // TC: ask again over TCP
    return true;
  }
  if (b.rcode >= 0) {
    reply[3] = static_cast<std::uint8_t>(0x80 | b.rcode);
    return true;
  }
  int ancount = 0;
  std::string cur = key;
  bool known = false;
  for (int hop = 0; hop < 10; ++hop) {
    const std::vector<Record>* recs = nullptr;
    if (auto it = records_.find(cur); it != records_.end()) recs = &it->second;
    for (const auto& [suffix, zrecs] : zones_)
      if (!recs && cur.size() > suffix.size() && cur.compare(cur.size() - suffix.size(), suffix.size(), suffix) == 0)
        recs = &zrecs;
    if (!recs) {
      auto bi = behaviour_.find(cur);
      known |= bi != behaviour_.end() && bi->second.exists;
      break;
    }
    known = true;
    const Record* cname = nullptr;
    for (const auto& r : *recs)
      if (r.type == kCname) cname = &r;
    if (cname && qtype != kCname) {
      auto owner = wire_name(cur);
      reply.insert(reply.end(), owner.begin(), owner.end());
      put16(reply, kCname), put16(reply, 1), put16(reply, 0), put16(reply, 60);
      put16(reply, static_cast<unsigned>(cname->rdata.size()));
      reply.insert(reply.end(), cname->rdata.begin(), cname->rdata.end());
      ++ancount;
      // Follow: decode the target back to text.
      std::string next;
      for (std::size_t i = 0; cname->rdata[i] != 0;) {
        std::size_t n = cname->rdata[i++];
        if (!next.empty()) next += '.';
        next.append(reinterpret_cast<const char*>(&cname->rdata[i]), n);
        i += n;
      }
      cur = next;
      continue;
    }
    for (const auto& r : *recs) {
      if (r.type != qtype) continue;
      auto owner = wire_name(cur);
      reply.insert(reply.end(), owner.begin(), owner.end());
      put16(reply, static_cast<unsigned>(r.type)), put16(reply, 1), put16(reply, 0), put16(reply, 60);
      put16(reply, static_cast<unsigned>(r.rdata.size()));
      reply.insert(reply.end(), r.rdata.begin(), r.rdata.end());
      ++ancount;
    }
    break;
  }
  if (!known && ancount == 0) reply[3] = 0x83;  // NXDOMAIN
  reply[6] = static_cast<std::uint8_t>(ancount >> 8);
  reply[7] = static_cast<std::uint8_t>(ancount);
  return true;
}

void DnsServer::run() {
  std::deque<Pending> pending;  // by due time: most delays are equal, so inserts are appends
  std::vector<int> conns;
  std::vector<std::uint8_t> buf(65536);
  while (!stop_) {
    std::int64_t now = now_ns();
    // Send what is due.
    std::size_t sent = 0;
    for (; sent < pending.size() && pending[sent].due_ns <= now; ++sent) {
      Pending& pd = pending[sent];
      if (pd.tcp) {
        std::vector<std::uint8_t> msg;
        put16(msg, static_cast<unsigned>(pd.reply.size()));
        msg.insert(msg.end(), pd.reply.begin(), pd.reply.end());
        [[maybe_unused]] auto w = ::send(pd.fd, msg.data(), msg.size(), MSG_NOSIGNAL);
      } else {
        if (::sendto(udp_, pd.reply.data(), pd.reply.size(), 0, reinterpret_cast<const sockaddr*>(pd.peer.data()),
                     static_cast<socklen_t>(pd.peer.size())) < 0)
          ++udp_send_errors_;
        else
          ++udp_sent_;
      }
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<long>(sent));
    int timeout = -1;
    if (!pending.empty())
      timeout = static_cast<int>(std::max<std::int64_t>(0, (pending.front().due_ns - now_ns() + 999'999) / 1'000'000));
    std::vector<pollfd> pfds = {{wake_[0], POLLIN, 0}, {udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
    for (int c : conns) pfds.push_back({c, POLLIN, 0});
    int n = ::poll(pfds.data(), pfds.size(), timeout);
    if (n <= 0) continue;
    auto queue_reply = [&](const std::vector<std::uint8_t>& q, bool tcp, int fd, const sockaddr_storage* peer,
                           socklen_t plen) {
      std::vector<std::uint8_t> reply;
      int delay = 0;
      if (!answer(q, tcp, reply, &delay)) return;
      Pending pd{now_ns() + std::int64_t{delay} * 1'000'000, fd, tcp, std::move(reply), {}};
      if (peer) {
        pd.peer.assign(reinterpret_cast<const std::uint8_t*>(peer), reinterpret_cast<const std::uint8_t*>(peer) + plen);
        std::lock_guard l(mu_);
        clients_.insert(std::string(pd.peer.begin(), pd.peer.end()));
      }
      auto at = std::upper_bound(pending.begin(), pending.end(), pd.due_ns,
                                 [](std::int64_t due, const Pending& p) { return due < p.due_ns; });
      pending.insert(at, std::move(pd));
      if (static_cast<int>(pending.size()) > max_outstanding_) max_outstanding_ = static_cast<int>(pending.size());
    };
    if (pfds[1].revents & POLLIN) {
      for (;;) {  // drain: a burst of a thousand queries arrives at once
        sockaddr_storage peer{};
        socklen_t plen = sizeof peer;
        ssize_t r = ::recvfrom(udp_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), &plen);
        if (r <= 0) break;
        queue_reply(std::vector<std::uint8_t>(buf.begin(), buf.begin() + r), false, -1, &peer, plen);
      }
    }
    if (pfds[2].revents & POLLIN) {
      int c = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) conns.push_back(c);
    }
    for (std::size_t i = 3; i < pfds.size(); ++i) {
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const int c = pfds[i].fd;
      std::uint8_t lenb[2];
      bool ok = ::recv(c, lenb, 2, MSG_WAITALL) == 2;
      std::vector<std::uint8_t> q;
      if (ok) {
        q.resize(static_cast<std::size_t>((lenb[0] << 8) | lenb[1]));
        ok = q.empty() || ::recv(c, q.data(), q.size(), MSG_WAITALL) == static_cast<ssize_t>(q.size());
      }
      if (!ok) {
        // Closed: drop its pending replies too.
        pending.erase(std::remove_if(pending.begin(), pending.end(), [c](const Pending& p) { return p.tcp && p.fd == c; }),
                      pending.end());
        ::close(c);
        conns.erase(std::find(conns.begin(), conns.end(), c));
        continue;
      }
      ++tcp_queries_;
      queue_reply(q, true, c, nullptr, 0);
    }
  }
  for (int c : conns) ::close(c);
}

SilentServer::SilentServer() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) sys_fail("SilentServer: socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) sys_fail("SilentServer: bind");
  socklen_t len = sizeof sa;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
}

SilentServer::~SilentServer() { ::close(fd_); }

std::string SilentServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

}  // namespace grove::test

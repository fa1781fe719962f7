// dns_server.hpp — a scripted DNS server on loopback for grove's resolver tests.
//
// Runs in a thread of its own (plain blocking sockets and poll: it is the far side of the wire,
// not code under test), answers UDP and TCP on one port, and serves what the test scripted:
// A / AAAA / CNAME / PTR records, and per-name behaviours — an rcode (NXDOMAIN, SERVFAIL,
// REFUSED), a delay, silence, a garbage reply, or a truncated UDP answer that forces TCP.
// Names are matched case-insensitively, without the trailing dot. Unknown names get NXDOMAIN.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace grove::test {

class DnsServer {
 public:
  enum class Mode { normal, drop, garbage, truncate };

  // port 0: pick a free one. Throws std::system_error if it cannot bind.
  explicit DnsServer(std::uint16_t port = 0, const std::string& ip = "127.0.0.1");
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // "127.0.0.1:port" for GROVE_DNS_SERVERS.
  std::string address() const;

  void add_a(const std::string& name, const std::string& ipv4);
  void add_aaaa(const std::string& name, const std::string& ipv6);
  void add_cname(const std::string& name, const std::string& target);
  void add_ptr(const std::string& arpa_name, const std::string& target);
  // Marks a name as existing (NOERROR) even without records: NODATA for every type.
  void add_empty(const std::string& name);
  void set_rcode(const std::string& name, int rcode);  // 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED
  void set_delay_ms(const std::string& name, int ms);
  void set_mode(const std::string& name, Mode m);
  // Every answer is delayed by this much (unless the name has its own delay).
  void set_default_delay_ms(int ms);
  // Every name ending in ".suffix" that has no records of its own gets these (bulk benchmarks:
  // ten thousand names without ten thousand map entries). Empty ipv6: no AAAA (NODATA).
  void add_zone(const std::string& suffix, const std::string& ipv4, const std::string& ipv6 = "");

  // Queries received for `name` (any type, UDP and TCP), and in total.
  int queries(const std::string& name) const;
  int total_queries() const;
  int tcp_queries() const { return tcp_queries_.load(); }
  // UDP answers handed to the kernel, and sendto calls that failed: with queries(), this tells
  // whether an answer was lost on the server's side or on the resolver's.
  int udp_answers_sent() const { return udp_sent_.load(); }
  int udp_send_errors() const { return udp_send_errors_.load(); }
  // The most queries received and not yet answered at any moment: how many were in flight at
  // once, seen from the server's side.
  int max_outstanding() const { return max_outstanding_.load(); }
  // Distinct source addresses (ip and port) queries came from: the resolver's sockets.
  int clients() const;
  // Forgets the counters above and the per-name query counts.
  void reset_counters();

 private:
  struct Record {
    int type;
    std::vector<std::uint8_t> rdata;  // address bytes, or a name in wire format
  };
  struct Behaviour {
    int rcode = -1;
    int delay_ms = -1;
    Mode mode = Mode::normal;
    bool exists = false;
  };
  struct Pending {
    std::int64_t due_ns;
    int fd;  // UDP socket, or a TCP connection
    bool tcp;
    std::vector<std::uint8_t> reply;
    std::vector<std::uint8_t> peer;  // sockaddr bytes for UDP
  };

  void run();
  // Builds the reply for one query; false: stay silent. *delay_ms: when to send it.
  bool answer(const std::vector<std::uint8_t>& q, bool tcp, std::vector<std::uint8_t>& reply, int* delay_ms);

  mutable std::mutex mu_;
  std::map<std::string, std::vector<Record>> records_;
  std::map<std::string, Behaviour> behaviour_;
  std::map<std::string, int> counts_;
  int total_ = 0;
  int default_delay_ms_ = 0;
  std::vector<std::pair<std::string, std::vector<Record>>> zones_;  // suffix (".bench"), records
  std::atomic<int> tcp_queries_{0};
  std::atomic<int> udp_sent_{0};
  std::atomic<int> udp_send_errors_{0};
  std::atomic<int> max_outstanding_{0};
  // Peers' sockaddr bytes (a std::string: GCC 12 -O3 warns falsely when comparing byte vectors).
  std::set<std::string> clients_;  // under mu_

  int udp_ = -1;
  int tcp_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::string ip_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A UDP socket bound on loopback that reads nothing and never answers.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  std::string address() const;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace grove::test

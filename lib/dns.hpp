// dns.hpp — grove's DNS transport: c-ares on the hub.
//
// This is the layer below the getaddrinfo/getnameinfo semantics (resolve.hpp): it sends DNS
// queries for a name (with resolv.conf's search list and ndots applied) or for an address, and
// parks only the calling greenlet until the answer, a timeout or an interruption. One concept per
// file: dns_request.cpp (a lookup and its park), dns_resolver.cpp (a thread's channels, the pacing
// that keeps every answer within the sockets' receive buffers, the driver greenlet — the design
// is at its top), dns_channel.cpp (one c-ares channel, the only user of <ares.h>), dns_answer.cpp
// (reading answers), dns_config.cpp, dns_servfail.cpp. Nothing here
// throws; results carry a Status, and interruptions (kill, grove::Timeout) come back as statuses
// so that the C layer can turn them into errno and the C++ API into exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "waiter.hpp"

namespace grove::detail::dns {

enum class Status : std::uint8_t {
  ok,
  not_found,        // NXDOMAIN (for every name the search list produced)
  no_data,          // the name exists but has no record of the type asked for
  server_failure,   // every server said SERVFAIL, REFUSED, FORMERR or NOTIMP
  try_again,        // no server answered in time (or the connection was refused)
  fail,             // an answer without usable records (a CNAME to nowhere), or a malformed one
  bad_name,         // the name cannot be put in a query (too long, empty label)
  no_memory,
  config,           // the resolver could not be set up (bad GROVE_DNS_SERVERS, …): see config_error()
  interrupted,      // the greenlet was killed or its grove::Timeout expired: see `wake`
};

const char* to_string(Status s) noexcept;

struct Ip {
  int family = 0;  // AF_INET or AF_INET6
  unsigned char bytes[16] = {};
};

struct HostAnswer {
  Status status = Status::ok;     // ok if any family had records
  Status v4 = Status::no_data;    // per family asked for
  Status v6 = Status::no_data;
  std::string canonical;          // owner name of the final record, after CNAMEs
  std::vector<std::string> aliases;  // the names CNAMEs pointed away from
  std::vector<Ip> addrs;          // A answers first, then AAAA (as glibc collects them)
  Wake wake = Wake::none;         // why, when status == interrupted
};

// Forward lookup. family: AF_INET (A), AF_INET6 (AAAA) or AF_UNSPEC (both, sent in parallel).
void query_host(const char* name, int family, HostAnswer& out);

struct PtrAnswer {
  Status status = Status::ok;
  std::string name;
  std::vector<std::string> aliases;
  Wake wake = Wake::none;
};

// Reverse lookup (PTR in in-addr.arpa / ip6.arpa).
void query_ptr(const Ip& ip, PtrAnswer& out);

// Per-thread configuration. Empty/zero fields mean: GROVE_DNS_SERVERS, GROVE_DNS_TIMEOUT,
// GROVE_DNS_TRIES from the environment, then resolv.conf, then glibc's defaults (5 s, 2 tries).
struct Config {
  std::string servers;       // "ip[:port],[ipv6]:port,…"
  int timeout_ms = 0;        // first try; c-ares doubles it on each round, as glibc does
  int tries = 0;
  std::string resolv_conf;   // path; default /etc/resolv.conf
  // Receive buffer to ask for on each UDP socket, in bytes; 0: 4 MiB. The kernel grants at most
  // net.core.rmem_max without CAP_NET_ADMIN. Lower values are for tests that must see what an
  // unprivileged process on a default system gets (dns_resolver.cpp: pacing).
  int udp_receive_buffer = 0;
};

// Replaces this thread's channels with ones built from `cfg` (the next lookup creates them).
// Returns false, changing nothing, while lookups of this thread are in flight (or its driver
// greenlet has not finished yet): tests and programs call it between batches of lookups.
bool configure(const Config& cfg);
// Why the channel could not be created ("" if it could).
std::string config_error();
// Queries this thread has in flight (including abandoned ones c-ares has not finished yet, and
// ones waiting for room on a socket).
std::size_t in_flight() noexcept;
// Parks until this thread has nothing in flight and its driver has finished, or until the
// deadline (grove's clock, ns). True if idle. For tests and orderly shutdowns.
bool wait_idle(std::int64_t deadline_ns);

// What this thread's resolver has done since it was (re)configured.
struct Stats {
  std::uint64_t queries = 0;       // handed to c-ares (an A+AAAA lookup is two; a search counts once)
  std::uint64_t paced = 0;         // of those, how many waited for room on a socket first
  std::uint64_t retried = 0;       // completed after at least one c-ares timeout (a lost query or answer)
  std::uint64_t kernel_drops = 0;  // datagrams the kernel dropped on our UDP sockets (receive buffer full)
  std::uint64_t abandoned = 0;     // answers that arrived for lookups already given up (kill, Timeout)
  std::size_t channels_opened = 0; // c-ares channels created; each has one UDP socket per server in use
  std::size_t channels_peak = 0;   // most open at once
  int receive_buffer = 0;          // bytes the kernel granted each UDP socket
  int answers_per_socket = 0;      // the pacing bound derived from it
};
// Kernel drops include those on sockets still open (read with SO_MEMINFO now).
Stats stats() noexcept;

}  // namespace grove::detail::dns

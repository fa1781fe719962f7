// dns.hpp — name resolution that parks only the calling greenlet.
//
//   auto addrs = grove::resolve("example.com", "https");            // like getaddrinfo
//   for (const grove::Address& a : addrs) connect_to(a.sockaddr(), a.length);
//   grove::NameInfo n = grove::reverse_lookup(addrs[0]);             // like getnameinfo
//
// Lookups follow glibc with `hosts: files dns`: /etc/hosts first, then DNS with resolv.conf's
// nameservers, search list, ndots and options (timeout, attempts, rotate); the AI_* and NI_* flags,
// /etc/services names, one result per socket type and glibc's address ordering (RFC 3484) are the
// same too. DNS queries go through c-ares, shared by all greenlets of a thread: a thousand
// greenlets resolving at once share a few UDP sockets, each parks until its own answer, and no
// socket is ever owed more answers than its receive buffer holds (a burst of answers is never
// lost to the kernel, so no lookup waits for a retry because of it). Where /etc/nsswitch.conf
// lists a source c-ares cannot answer (mdns, ldap, …) the lookup runs libc's own function
// (getaddrinfo, gethostbyname2_r, gethostbyaddr_r, getnameinfo) on grove's offload pool.
//
// Configuration (read when a thread makes its first lookup): GROVE_DNS_SERVERS ("ip[:port],…",
// "[ipv6]:port" for IPv6 with a port; replaces resolv.conf's nameservers), GROVE_DNS_TIMEOUT
// (seconds, fractions allowed; the first try's timeout, doubled on later rounds), GROVE_DNS_TRIES.
//
// Errors: grove::DnsError with the EAI_* code (gai_strerror's text plus the name); GreenletExit
// and TimeoutError interrupt a lookup like any blocking call. An interrupted lookup leaves nothing
// behind that can touch the greenlet later: c-ares' eventual answer is dropped.
//
// Not reproduced from glibc: IDN (AI_IDN/NI_IDN are accepted and ignored), /etc/gai.conf (the
// built-in RFC 3484 tables are used), and the ordering rules that need per-interface address
// flags (3, 4, 7, 9). Retries follow c-ares: the timeout doubles on each round over the servers
// (glibc keeps it constant per server), and a timeout ends the search list where glibc goes on
// to the next suffix. tests/dns/glibc_diff.cpp checks everything else answer for answer.
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace grove {

struct ResolveHints {
  int family = AF_UNSPEC;  // AF_UNSPEC, AF_INET or AF_INET6
  int socktype = 0;        // 0: one result per socket type (stream, datagram, raw), as glibc
  int protocol = 0;
  int flags = 0;           // AI_*; unlike getaddrinfo with null hints, AI_ADDRCONFIG is not implied
};

// One getaddrinfo result.
struct Address {
  int family = 0;
  int socktype = 0;
  int protocol = 0;
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string canonical_name;  // with AI_CANONNAME, on the first result only (as in addrinfo)

  const ::sockaddr* sockaddr() const noexcept { return reinterpret_cast<const ::sockaddr*>(&storage); }
  // The numeric address ("192.0.2.1", "fe80::1%eth0") and the port.
  std::string host() const;
  std::uint16_t port() const noexcept;
};

class DnsError : public std::runtime_error {
 public:
  DnsError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  // EAI_NONAME, EAI_AGAIN, EAI_NODATA, EAI_FAIL, EAI_SERVICE, EAI_FAMILY, …
  int code() const noexcept { return code_; }

 private:
  int code_;
};

// getaddrinfo. An empty host means "no host" (the wildcard with AI_PASSIVE, else loopback); an
// empty service means none (port 0). Throws DnsError, GreenletExit, TimeoutError.
std::vector<Address> resolve(const std::string& host, const std::string& service = {},
                             const ResolveHints& hints = {});

struct NameInfo {
  std::string host;
  std::string service;
};

// getnameinfo: flags are NI_*. Without NI_NAMEREQD an address without a name comes back numeric.
NameInfo reverse_lookup(const ::sockaddr* sa, socklen_t length, int flags = 0);
inline NameInfo reverse_lookup(const Address& a, int flags = 0) { return reverse_lookup(a.sockaddr(), a.length, flags); }
// Convenience for a numeric address string ("192.0.2.1", "2001:db8::1"); the service part is "0".
NameInfo reverse_lookup(const std::string& numeric_host, int flags = 0);

}  // namespace grove

// resolve.hpp — glibc's getaddrinfo/getnameinfo/gethostby* semantics over grove's DNS transport.
//
// The lookups are done the way glibc does them for `hosts: files dns` (the design is at the top of
// resolve_gai.cpp), one concept per file: the sources and the loop over them (resolve_sources.hpp:
// resolve_hosts.cpp, resolve_nss.cpp), services (resolve_services), numeric hosts
// (resolve_numeric), the RFC 3484 order (resolve_sort), getaddrinfo (resolve_gai),
// gethostby* (resolve_hostent), getnameinfo (resolve_nameinfo), and libc's own resolver for the
// nsswitch sources grove lacks (resolve_foreign). include/grove/dns.hpp (C++, throws) and
// include/grove/dns_c.h (C, return codes) are thin shells over the functions here, which never
// throw.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "dns.hpp"
#include "waiter.hpp"

namespace grove::detail::resolve {

struct Addr {
  int family = 0;               // AF_INET or AF_INET6
  unsigned char bytes[16] = {};
  std::uint32_t scope_id = 0;
};

struct ServiceTuple {
  int socktype = 0;
  int protocol = 0;
  std::uint16_t port = 0;  // network byte order
};

// What getaddrinfo would return, before it is laid out as an addrinfo list or a vector:
// every address (sorted as glibc sorts them) × every service tuple.
struct GaiResult {
  int code = 0;              // 0 or EAI_*
  int sys_errno = 0;         // with EAI_SYSTEM
  Wake wake = Wake::none;    // the interruption behind EAI_SYSTEM, if any
  std::string canonical;     // with AI_CANONNAME
  bool has_canonical = false;
  int flags = 0;             // the hints' flags, which glibc copies into every addrinfo
  std::vector<Addr> addrs;
  std::vector<ServiceTuple> services;
  addrinfo* foreign = nullptr;  // produced by libc's own getaddrinfo (an nsswitch source we lack)
};

GaiResult getaddrinfo(const char* node, const char* service, const addrinfo* hints);

struct NameResult {
  int code = 0;  // 0 or EAI_*
  int sys_errno = 0;
  Wake wake = Wake::none;
  std::string host, service;
};

// flags: NI_*; want_host / want_serv say which parts the caller asked for.
NameResult getnameinfo(const sockaddr* sa, socklen_t salen, bool want_host, bool want_serv, int flags);

// gethostbyname2 / gethostbyaddr: the hostent's contents, and h_errno on failure.
struct HostResult {
  int h_errno_value = 0;  // 0, HOST_NOT_FOUND, NO_DATA, TRY_AGAIN, NO_RECOVERY, NETDB_INTERNAL
  int sys_errno = 0;      // with NETDB_INTERNAL
  int rc = 0;             // what gethostbyname2_r returns: 0 (found or not found) or an errno value
  Wake wake = Wake::none;
  std::string name;
  std::vector<std::string> aliases;
  int family = 0;
  std::vector<Addr> addrs;
};

HostResult gethostbyname(const char* name, int family);
HostResult gethostbyaddr(const void* addr, socklen_t len, int type);

// Lists made by libc's own getaddrinfo (GaiResult::foreign), handed out by the C layer: they must
// go back to libc's freeaddrinfo, every other list to grove's (resolve_foreign.cpp).
void remember_foreign(addrinfo* ai);
bool is_foreign(const addrinfo* ai) noexcept;
void free_foreign(addrinfo* ai) noexcept;

// A lookup interrupted by a kill (ECANCELED) or an expired grove::Timeout (ETIMEDOUT).
inline void set_interrupted(GaiResult& r, Wake w) noexcept {
  r.code = EAI_SYSTEM;
  r.wake = w;
  r.sys_errno = w == Wake::killed ? ECANCELED : ETIMEDOUT;
}
inline void set_interrupted(HostResult& r, Wake w) noexcept {
  r.h_errno_value = NETDB_INTERNAL;
  r.wake = w;
  r.sys_errno = w == Wake::killed ? ECANCELED : ETIMEDOUT;
}

// For tests: read these instead of /etc/hosts and /etc/nsswitch.conf (empty: the real ones).
// Process-wide; set before lookups start.
void set_files_for_tests(const std::string& hosts, const std::string& nsswitch);

}  // namespace grove::detail::resolve

// resolve.hpp — glibc's getaddrinfo/getnameinfo/gethostby* semantics over grove's DNS transport.
//
// resolve.cpp implements the lookups the way glibc does for `hosts: files dns` (see the top of
// that file); include/grove/dns.hpp (C++, throws) and include/grove/dns_c.h (C, return codes) are
// thin shells over the functions here, which never throw.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

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

// Frees a list made by the C layer, or hands a foreign one to libc's freeaddrinfo.
void free_foreign(addrinfo* ai) noexcept;
bool is_foreign(const addrinfo* ai) noexcept;
void remember_foreign(addrinfo* ai);

// For tests: read these instead of /etc/hosts and /etc/nsswitch.conf (empty: the real ones).
// Process-wide; set before lookups start.
void set_files_for_tests(const std::string& hosts, const std::string& nsswitch);

}  // namespace grove::detail::resolve

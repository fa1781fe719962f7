// resolve_nameinfo.cpp — getnameinfo as glibc answers it: the host part through gethostbyaddr
// (the nsswitch sources), numeric when there is no name and NI_NAMEREQD was not given, with
// NI_NOFQDN stripping our own domain; the service part from /etc/services or numeric.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "resolve.hpp"
#include "resolve_foreign.hpp"
#include "resolve_services.hpp"
#include "resolve_sources.hpp"

namespace grove::detail::resolve {

namespace {

constexpr int kNumericScope = 0x0100;  // NI_NUMERICSCOPE

// "host.example.com" → "host" on a machine in example.com, as glibc does for NI_NOFQDN.
void strip_own_domain(std::string& host) {
  char me[256] = {};
  if (::gethostname(me, sizeof me - 1) != 0) return;
  const char* dom = std::strchr(me, '.');
  auto dot = host.find('.');
  if (dom && dot != std::string::npos && ::strcasecmp(host.c_str() + dot, dom) == 0) host.resize(dot);
}

// The numeric form, with the scope of a link-local IPv6 address by interface name.
bool numeric_host(const Addr& a, int flags, std::string& out) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (!::inet_ntop(a.family, a.bytes, buf, sizeof buf)) return false;
  out = buf;
  if (a.family == AF_INET6 && a.scope_id != 0) {
    auto* in6 = reinterpret_cast<const in6_addr*>(a.bytes);
    char ifname[IF_NAMESIZE + 1];
    out += '%';
    if (!(flags & kNumericScope) && (IN6_IS_ADDR_LINKLOCAL(in6) || IN6_IS_ADDR_MC_LINKLOCAL(in6)) &&
        ::if_indextoname(a.scope_id, ifname))
      out += ifname;
    else
      out += std::to_string(a.scope_id);
  }
  return true;
}

}  // namespace

NameResult getnameinfo(const sockaddr* sa, socklen_t salen, bool want_host, bool want_serv, int flags) {
  NameResult r;
  constexpr int kKnown = NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM | NI_IDN |
                         0x0040 /* NI_IDN_ALLOW_UNASSIGNED */ | 0x0080 /* NI_IDN_USE_STD3_ASCII_RULES */ |
                         kNumericScope;
  if (flags & ~kKnown) return r.code = EAI_BADFLAGS, r;
  if (!sa || salen < static_cast<socklen_t>(sizeof(sa_family_t))) return r.code = EAI_FAMILY, r;
  if (!want_host && !want_serv) return r.code = EAI_NONAME, r;
  const int family = sa->sa_family;
  std::uint16_t port = 0;
  Addr a;
  if (family == AF_INET) {
    if (salen < static_cast<socklen_t>(sizeof(sockaddr_in))) return r.code = EAI_FAMILY, r;
    auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
    a.family = AF_INET;
    std::memcpy(a.bytes, &s4->sin_addr, 4);
    port = s4->sin_port;
  } else if (family == AF_INET6) {
    if (salen < static_cast<socklen_t>(sizeof(sockaddr_in6))) return r.code = EAI_FAMILY, r;
    auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    a.family = AF_INET6;
    std::memcpy(a.bytes, &s6->sin6_addr, 16);
    a.scope_id = s6->sin6_scope_id;
    port = s6->sin6_port;
  } else {
    return r.code = EAI_FAMILY, r;
  }
  if (want_host && !(flags & NI_NUMERICHOST) && read_nsswitch().foreign && foreign_allowed())
    return foreign_getnameinfo(sa, salen, want_host, want_serv, flags);

  if (want_host) {
    bool done = false;
    if (!(flags & NI_NUMERICHOST)) {
      HostResult h = gethostbyaddr(a.bytes, family == AF_INET ? 4 : 16, family);
      if (h.wake != Wake::none) {
        r.code = EAI_SYSTEM;
        r.wake = h.wake;
        r.sys_errno = h.sys_errno;
        return r;
      }
      if (h.h_errno_value == 0) {
        r.host = h.name;
        if (flags & NI_NOFQDN) strip_own_domain(r.host);
        done = true;
      } else if (h.h_errno_value == TRY_AGAIN) {
        return r.code = EAI_AGAIN, r;
      } else if (h.h_errno_value == NETDB_INTERNAL) {
        r.code = EAI_SYSTEM;
        r.sys_errno = h.sys_errno;
        return r;
      }
    }
    if (!done) {
      if (flags & NI_NAMEREQD) return r.code = EAI_NONAME, r;
      if (!numeric_host(a, flags, r.host)) return r.code = EAI_SYSTEM, r.sys_errno = errno, r;
    }
  }
  if (want_serv) r.service = service_text(port, flags);
  return r;
}

}  // namespace grove::detail::resolve

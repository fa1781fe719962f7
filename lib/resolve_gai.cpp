// resolve_gai.cpp — getaddrinfo the way glibc does it, over c-ares.
//
// Design
// ------
// Programs resolving through grove must not be able to tell the difference from glibc with
// `hosts: files dns` in /etc/nsswitch.conf, so the resolve_*.cpp files follow glibc's own
// structure (2.36):
//
//   getaddrinfo:  argument checks (EAI_BADFLAGS, EAI_FAMILY) → AI_ADDRCONFIG (which, like glibc,
//                 ignores loopback addresses: a host with only `lo` up has "no IPv4") → service
//                 (numeric, or /etc/services per protocol) → socket type/protocol table (tcp, udp,
//                 raw by default: three entries per address; resolve_services.cpp) → host: none
//                 (loopback or wildcard), numeric (resolve_numeric.cpp), or the nsswitch sources
//                 in order (resolve_sources.hpp): `files` (/etc/hosts; glibc reads it on every
//                 call, we re-read it whenever stat() says it changed) and `dns` (c-ares, dns.hpp)
//                 → RFC 3484 ordering (resolve_sort.cpp) → expansion (by the C and C++ layers).
//   Per family as glibc: AF_UNSPEC asks both families of each source at once (its
//   gethostbyname4_r), AF_INET / AF_INET6 ask one family (gethostbyname3_r), and AF_INET6 with
//   AI_V4MAPPED also asks AF_INET when there was no IPv6 answer (or always, with AI_ALL).
//   Error codes come from the last source asked, with glibc's rules: NXDOMAIN → EAI_NONAME, a
//   name without records → EAI_NODATA, timeouts/SERVFAIL on every family → EAI_AGAIN — except
//   AF_INET without AI_CANONNAME, which glibc answers through plain gethostbyname2_r with its
//   own mapping (SERVFAIL → EAI_NONAME there, a CNAME to nowhere → EAI_NODATA). Each of these
//   was pinned down by tests/dns/glibc_diff.cpp, which asks glibc and us the same questions.
//
// When /etc/nsswitch.conf lists a hosts source we cannot answer ourselves (mdns4_minimal, ldap,
// myhostname, resolve …), the whole call is run by libc's own function on grove's offload pool
// (resolve_foreign.cpp): the caller waits cooperatively, and only those configurations pay for a
// thread. The same holds for gethostby* and getnameinfo.
//
// Not reproduced (documented in include/grove/dns.hpp): IDN (AI_IDN is accepted and ignored),
// /etc/gai.conf (glibc's built-in RFC 3484 tables are used), rules 3, 4, 7 and 9 of the ordering
// (they need per-interface address flags; rules 1, 2, 5, 6, 8 and 10 are applied).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <optional>
#include <cstdlib>
#include <cstring>

#include "resolve.hpp"
#include "resolve_foreign.hpp"
#include "resolve_numeric.hpp"
#include "resolve_services.hpp"
#include "resolve_sort.hpp"
#include "resolve_sources.hpp"

namespace grove::detail::resolve {

namespace {

// glibc's check_pf: which families have an address other than loopback.
void seen_families(bool* v4, bool* v6) {
  *v4 = *v6 = false;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    *v4 = *v6 = true;  // cannot tell: do not filter (glibc does the same on netlink failure)
    return;
  }
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if (a->sin_addr.s_addr != htonl(INADDR_LOOPBACK)) *v4 = true;
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (!IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) *v6 = true;
    }
  }
  ::freeifaddrs(list);
}

bool is_mapped(const Addr& a) { return IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(a.bytes)); }

// An answer that ends the whole call: an interruption, an unusable resolver, no memory.
bool fatal_answer(const SourceAnswer& a, GaiResult& r) {
  if (a.wake != Wake::none) {
    set_interrupted(r, a.wake);
    return true;
  }
  if (a.config_error) {
    r.code = EAI_SYSTEM;
    r.sys_errno = EINVAL;
    return true;
  }
  if (a.herr == NETDB_INTERNAL) {
    r.code = EAI_MEMORY;
    return true;
  }
  return false;
}

// glibc's no_data / no_inet6_data: 0, 1 (the name has no such records) or EAI_AGAIN.
int no_data_of(const SourceAnswer& a) {
  if (a.status == Nss::success) return 0;
  if (a.herr == TRY_AGAIN) return EAI_AGAIN;
  return a.herr == NO_DATA ? 1 : 0;
}

// One source's answer for the hints' family, as gaih_inet asks it: both families at once for
// AF_UNSPEC, else the family asked for, plus IPv4 (as mapped addresses) for AF_INET6 with
// AI_V4MAPPED. nullopt (and r.code) for a fatal answer.
struct FamilyAnswer {
  Nss status = Nss::notfound;
  int no_data = 0, no_inet6_data = 0;
  std::vector<Addr> addrs;
  std::string canonical;
};

std::optional<FamilyAnswer> ask_families(const Source& s, const char* name, const addrinfo& h, GaiResult& r) {
  FamilyAnswer f;
  if (h.ai_family == AF_UNSPEC) {
    SourceAnswer a = by_name(s, name, AF_UNSPEC);
    if (fatal_answer(a, r)) return std::nullopt;
    f.status = a.status;
    f.no_data = f.no_inet6_data = no_data_of(a);
    f.addrs = std::move(a.addrs);
    f.canonical = std::move(a.canonical);
    return f;
  }
  Nss st6 = Nss::notfound;
  bool got_ipv6 = false;
  if (h.ai_family == AF_INET6) {
    SourceAnswer a = by_name(s, name, AF_INET6);
    if (fatal_answer(a, r)) return std::nullopt;
    st6 = a.status;
    f.no_data = f.no_inet6_data = no_data_of(a);
    got_ipv6 = !a.addrs.empty();
    f.addrs = std::move(a.addrs);
    f.canonical = std::move(a.canonical);
  }
  if (h.ai_family == AF_INET || ((h.ai_flags & AI_V4MAPPED) && ((h.ai_flags & AI_ALL) || !got_ipv6))) {
    SourceAnswer a = by_name(s, name, AF_INET);
    if (fatal_answer(a, r)) return std::nullopt;
    f.status = a.status;
    f.no_data = no_data_of(a);
    if (h.ai_family == AF_INET) f.no_inet6_data = f.no_data;
    for (const Addr& ad : a.addrs) f.addrs.push_back(h.ai_family == AF_INET6 ? v4_mapped(ad) : ad);
    if (f.canonical.empty()) f.canonical = std::move(a.canonical);
  }
  if (st6 == Nss::success || f.status == Nss::success)
    f.status = Nss::success;
  else if (st6 == Nss::tryagain)
    f.status = Nss::tryagain;
  else if (f.status == Nss::unavail && st6 != Nss::unavail && h.ai_family == AF_INET6)
    f.status = st6;
  return f;
}

// The host part by name, through the sources. Returns 0 or an EAI code; fills r.addrs and
// r.canonical.
int hosts_by_name(const char* name, const addrinfo& h, const NssConfig& nss, GaiResult& r) {
  int no_data = 0, no_inet6_data = 0;
  bool got = false;
  const auto last = walk_sources(nss, [&](const Source& s) -> std::optional<Nss> {
    std::optional<FamilyAnswer> f = ask_families(s, name, h, r);
    if (!f) return std::nullopt;
    no_data = f->no_data;
    no_inet6_data = f->no_inet6_data;
    if (f->status == Nss::success) {
      // glibc drops IPv4-mapped answers when real IPv6 ones came back and AI_ALL was not given.
      const bool real_v6 = h.ai_family == AF_INET6 && std::any_of(f->addrs.begin(), f->addrs.end(),
                                                                   [](const Addr& a) { return !is_mapped(a); });
      if (real_v6 && (h.ai_flags & (AI_V4MAPPED | AI_ALL)) == AI_V4MAPPED)
        f->addrs.erase(std::remove_if(f->addrs.begin(), f->addrs.end(), is_mapped), f->addrs.end());
      r.addrs = std::move(f->addrs);
      r.canonical = f->canonical.empty() ? name : f->canonical;
      got = !r.addrs.empty();
    }
    return f->status;
  });
  if (!last) return r.code;
  if (got) return 0;
  if (no_data != 0 && no_inet6_data != 0) {
    if (no_data == EAI_AGAIN && no_inet6_data == EAI_AGAIN) return EAI_AGAIN;
    return EAI_NODATA;
  }
  return EAI_NONAME;
}

// glibc's try_simple_gethostbyname, for AF_INET without AI_CANONNAME: plain gethostbyname2_r,
// with its own error mapping. Returns 0 or an EAI code.
int simple_gethostbyname(const char* node, GaiResult& r) {
  HostResult hr = gethostbyname(node, AF_INET);
  if (hr.wake != Wake::none) {
    set_interrupted(r, hr.wake);
    return r.code;
  }
  if (hr.h_errno_value == 0) {
    r.addrs = std::move(hr.addrs);
    return 0;
  }
  if (hr.rc == 0) return hr.h_errno_value == NO_DATA ? EAI_NODATA : EAI_NONAME;
  if (hr.h_errno_value == NETDB_INTERNAL) {
    r.sys_errno = hr.sys_errno;
    return EAI_SYSTEM;
  }
  return hr.h_errno_value == TRY_AGAIN ? EAI_AGAIN : EAI_NODATA;
}

bool is_numeric(const char* node) {
  unsigned char v4[4];
  Addr v6;
  return aton_exact(node, v4) || parse_v6(node, v6) != 0;
}

// The host part: none, numeric, or by name through `nss`. Returns 0 or an EAI code (r.code is
// set by the caller).
int host_part(const char* node, const addrinfo& h, const NssConfig* nss, GaiResult& r) {
  if (!node) {
    Addr a6, a4;
    a6.family = AF_INET6;
    a4.family = AF_INET;
    if (!(h.ai_flags & AI_PASSIVE)) {
      a6.bytes[15] = 1;
      const std::uint32_t lo = htonl(INADDR_LOOPBACK);
      std::memcpy(a4.bytes, &lo, 4);
    }
    if (h.ai_family == AF_UNSPEC || h.ai_family == AF_INET6) r.addrs.push_back(a6);
    if (h.ai_family == AF_UNSPEC || h.ai_family == AF_INET) r.addrs.push_back(a4);
    return 0;
  }
  Addr a;
  if (aton_exact(node, a.bytes)) {
    a.family = AF_INET;
    if (h.ai_family == AF_INET || h.ai_family == AF_UNSPEC)
      r.addrs.push_back(a);
    else if (h.ai_flags & AI_V4MAPPED)
      r.addrs.push_back(v4_mapped(a));
    else
      return EAI_ADDRFAMILY;
    r.canonical = node;
    return 0;
  }
  if (int v6 = parse_v6(node, a); v6 != 0) {
    if (h.ai_family == AF_INET && is_mapped(a)) {
      a.family = AF_INET;
      std::memmove(a.bytes, a.bytes + 12, 4);
      std::memset(a.bytes + 4, 0, 12);
    } else if (h.ai_family != AF_UNSPEC && h.ai_family != AF_INET6) {
      return EAI_ADDRFAMILY;
    }
    if (v6 < 0) return EAI_NONAME;  // a scope that names no interface
    r.addrs.push_back(a);
    r.canonical = node;
    return 0;
  }
  if (h.ai_flags & AI_NUMERICHOST) return EAI_NONAME;
  if (h.ai_family == AF_INET && !(h.ai_flags & AI_CANONNAME)) return simple_gethostbyname(node, r);
  return hosts_by_name(node, h, *nss, r);
}

}  // namespace

GaiResult getaddrinfo(const char* node, const char* service, const addrinfo* hints) {
  GaiResult r;
  if (node && node[0] == '*' && node[1] == '\0') node = nullptr;
  if (service && service[0] == '*' && service[1] == '\0') service = nullptr;
  if (!node && !service) return r.code = EAI_NONAME, r;
  addrinfo h{};
  if (hints) {
    h.ai_flags = hints->ai_flags;
    h.ai_family = hints->ai_family;
    h.ai_socktype = hints->ai_socktype;
    h.ai_protocol = hints->ai_protocol;
  } else {
    h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;  // glibc's default hints
  }
  constexpr int kKnown = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_ADDRCONFIG | AI_V4MAPPED | AI_IDN |
                         AI_CANONIDN | 0x0080 /* deprecated AI_IDN_ALLOW_UNASSIGNED */ |
                         0x0100 /* deprecated AI_IDN_USE_STD3_ASCII_RULES */ | AI_NUMERICSERV | AI_ALL;
  if (h.ai_flags & ~kKnown) return r.code = EAI_BADFLAGS, r;
  if ((h.ai_flags & AI_CANONNAME) && !node) return r.code = EAI_BADFLAGS, r;
  if (h.ai_family != AF_UNSPEC && h.ai_family != AF_INET && h.ai_family != AF_INET6) return r.code = EAI_FAMILY, r;

  if (h.ai_flags & AI_ADDRCONFIG) {
    bool v4, v6;
    seen_families(&v4, &v6);
    if (h.ai_family == AF_UNSPEC && (v4 || v6)) {
      if (v4 != v6) h.ai_family = v4 ? AF_INET : AF_INET6;
    } else if ((h.ai_family == AF_INET && !v4) || (h.ai_family == AF_INET6 && !v6)) {
      return r.code = EAI_NONAME, r;
    }
  }
  if (service && service[0] == '\0') service = nullptr;
  if (service && (h.ai_flags & AI_NUMERICSERV)) {
    char* end = nullptr;
    std::strtoul(service, &end, 10);
    if (*end != '\0') return r.code = EAI_NONAME, r;
  }
  if (int c = services(service, h, r.services)) return r.code = c, r;

  // A name to look up, with an nsswitch source we lack: libc answers the whole call.
  const bool by_name = node && !(h.ai_flags & AI_NUMERICHOST) && !is_numeric(node);
  const NssConfig* nss = by_name ? &read_nsswitch() : nullptr;
  if (nss && nss->foreign && foreign_allowed()) return foreign_getaddrinfo(node, service, hints);
  if (int c = host_part(node, h, nss, r)) {
    r.code = c;
    return r;
  }
  r.has_canonical = (h.ai_flags & AI_CANONNAME) != 0;
  r.flags = h.ai_flags;
  sort_addrs(r.addrs);
  return r;
}

}  // namespace grove::detail::resolve

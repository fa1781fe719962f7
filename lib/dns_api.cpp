// dns_api.cpp — the C++ face of grove's resolver (include/grove/dns.hpp): resolve.hpp's results
// as values, its failures as exceptions.
#include <arpa/inet.h>
#include <net/if.h>

#include <cstring>
#include <system_error>

#include "grove/dns.hpp"
#include "grove/errors.hpp"
#include "dns.hpp"
#include "resolve.hpp"
#include "waiter.hpp"

namespace grove {

namespace r = detail::resolve;

namespace {

std::string quoted(const char* s) {
  if (!s) return "(none)";
  std::string q = "'";  // built with += : GCC 12 at -O3 misreports "'" + std::string as -Wrestrict
  q += s;
  q += '\'';
  return q;
}

[[noreturn]] void fail(int code, int sys_errno, detail::Wake wake, const std::string& what) {
  if (wake != detail::Wake::none) detail::raise_if_interrupted(wake);
  if (code == EAI_SYSTEM) {
    // EINVAL here means the resolver could not be set up: say why (bad GROVE_DNS_SERVERS …).
    std::string why = sys_errno == EINVAL ? detail::dns::config_error() : "";
    throw std::system_error(sys_errno, std::generic_category(), why.empty() ? what : what + ": " + why);
  }
  throw DnsError(code, what + ": " + ::gai_strerror(code));
}

}  // namespace

std::string Address::host() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
    return buf;
  }
  auto* s6 = reinterpret_cast<const sockaddr_in6*>(&storage);
  ::inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof buf);
  std::string out = buf;
  if (s6->sin6_scope_id != 0) {
    char ifname[IF_NAMESIZE + 1];
    out += '%';
    out += ::if_indextoname(s6->sin6_scope_id, ifname) ? ifname : std::to_string(s6->sin6_scope_id);
  }
  return out;
}

std::uint16_t Address::port() const noexcept {
  if (family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
}

std::vector<Address> resolve(const std::string& host, const std::string& service, const ResolveHints& hints) {
  addrinfo h{};
  h.ai_family = hints.family;
  h.ai_socktype = hints.socktype;
  h.ai_protocol = hints.protocol;
  h.ai_flags = hints.flags;
  const char* node = host.empty() ? nullptr : host.c_str();
  const char* serv = service.empty() ? nullptr : service.c_str();
  r::GaiResult g = r::getaddrinfo(node, serv, &h);
  std::vector<Address> out;
  if (g.foreign) {
    struct Free {
      addrinfo* ai;
      ~Free() { r::free_foreign(ai); }
    } guard{g.foreign};
    r::remember_foreign(g.foreign);
    for (addrinfo* ai = g.foreign; ai; ai = ai->ai_next) {
      Address a;
      a.family = ai->ai_family;
      a.socktype = ai->ai_socktype;
      a.protocol = ai->ai_protocol;
      a.length = std::min<socklen_t>(ai->ai_addrlen, sizeof a.storage);
      std::memcpy(&a.storage, ai->ai_addr, a.length);
      if (ai->ai_canonname) a.canonical_name = ai->ai_canonname;
      out.push_back(std::move(a));
    }
  }
  if (g.code != 0)
    fail(g.code, g.sys_errno, g.wake, "grove::resolve(" + quoted(node) + ", " + quoted(serv) + ")");
  if (g.foreign) return out;
  out.reserve(g.addrs.size() * g.services.size());
  for (const auto& ad : g.addrs)
    for (const auto& s : g.services) {
      Address a;
      a.family = ad.family;
      a.socktype = s.socktype;
      a.protocol = s.protocol;
      if (ad.family == AF_INET) {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&a.storage);
        s4->sin_family = AF_INET;
        s4->sin_port = s.port;
        std::memcpy(&s4->sin_addr, ad.bytes, 4);
        a.length = sizeof(sockaddr_in);
      } else {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = s.port;
        std::memcpy(&s6->sin6_addr, ad.bytes, 16);
        s6->sin6_scope_id = ad.scope_id;
        a.length = sizeof(sockaddr_in6);
      }
      out.push_back(std::move(a));
    }
  if (!out.empty() && g.has_canonical) out.front().canonical_name = g.canonical;
  return out;
}

NameInfo reverse_lookup(const ::sockaddr* sa, socklen_t length, int flags) {
  r::NameResult n = r::getnameinfo(sa, length, true, true, flags);
  if (n.code != 0) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (sa && sa->sa_family == AF_INET && length >= sizeof(sockaddr_in))
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
    else if (sa && sa->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6))
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
    fail(n.code, n.sys_errno, n.wake, std::string("grove::reverse_lookup(") + buf + ")");
  }
  return {std::move(n.host), std::move(n.service)};
}

NameInfo reverse_lookup(const std::string& numeric_host, int flags) {
  sockaddr_storage ss{};
  socklen_t len;
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, numeric_host.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    len = sizeof *s4;
  } else if (::inet_pton(AF_INET6, numeric_host.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    len = sizeof *s6;
  } else {
    throw DnsError(EAI_NONAME, "grove::reverse_lookup('" + numeric_host + "'): not a numeric IPv4 or IPv6 address");
  }
  return reverse_lookup(reinterpret_cast<const ::sockaddr*>(&ss), len, flags);
}

}  // namespace grove

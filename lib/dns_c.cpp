// dns_c.cpp — the C layer of grove's resolver: glibc's signatures, return codes and memory rules
// over resolve.hpp. Nothing here throws (a C caller cannot catch), and errno is left as it was
// unless a result says "look at errno" (EAI_SYSTEM, NETDB_INTERNAL).
#include "context.hpp"
#include "grove/dns_c.h"

#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "resolve.hpp"

namespace r = grove::detail::resolve;

namespace {

// errno as the caller left it, unless the result is one that reports through errno.
struct ErrnoGuard {
  int saved = errno;
  int set_to = 0;
  ~ErrnoGuard() { errno = set_to ? set_to : saved; }
};

addrinfo* make_node(const r::Addr& a, const r::ServiceTuple& s, int flags) {
  const std::size_t alen = a.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  auto* ai = static_cast<addrinfo*>(std::calloc(1, sizeof(addrinfo) + sizeof(sockaddr_in6)));
  if (!ai) return nullptr;
  ai->ai_flags = flags;  // glibc copies the hints' flags into every entry
  ai->ai_family = a.family;
  ai->ai_socktype = s.socktype;
  ai->ai_protocol = s.protocol;
  ai->ai_addrlen = static_cast<socklen_t>(alen);
  ai->ai_addr = reinterpret_cast<sockaddr*>(ai + 1);
  if (a.family == AF_INET) {
    auto* s4 = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
    s4->sin_family = AF_INET;
    s4->sin_port = s.port;
    std::memcpy(&s4->sin_addr, a.bytes, 4);
  } else {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = s.port;
    std::memcpy(&s6->sin6_addr, a.bytes, 16);
    s6->sin6_scope_id = a.scope_id;
  }
  return ai;
}

void free_list(addrinfo* ai) {
  while (ai) {
    addrinfo* next = ai->ai_next;
    std::free(ai->ai_canonname);
    std::free(ai);
    ai = next;
  }
}

// Lays a hostent out in the caller's buffer. false: buf too small.
bool pack_hostent(const r::HostResult& h, hostent* ret, char* buf, std::size_t buflen) {
  const std::size_t alen = h.family == AF_INET6 ? 16 : 4;
  const std::size_t ptrs = (h.aliases.size() + 1 + h.addrs.size() + 1) * sizeof(char*);
  std::size_t need = ptrs + h.addrs.size() * alen + h.name.size() + 1 + alignof(char*);
  for (const auto& a : h.aliases) need += a.size() + 1;
  if (!buf || buflen < need) return false;
  char* p = buf;
  if (auto mis = reinterpret_cast<std::uintptr_t>(p) % alignof(char*)) p += alignof(char*) - mis;
  char** aliases = reinterpret_cast<char**>(p);
  char** addrs = aliases + h.aliases.size() + 1;
  p = reinterpret_cast<char*>(addrs + h.addrs.size() + 1);
  for (std::size_t i = 0; i < h.addrs.size(); ++i) {
    std::memcpy(p, h.addrs[i].bytes, alen);
    addrs[i] = p;
    p += alen;
  }
  addrs[h.addrs.size()] = nullptr;
  auto put = [&](const std::string& s) {
    char* d = p;
    std::memcpy(d, s.c_str(), s.size() + 1);
    p += s.size() + 1;
    return d;
  };
  ret->h_name = put(h.name);
  for (std::size_t i = 0; i < h.aliases.size(); ++i) aliases[i] = put(h.aliases[i]);
  aliases[h.aliases.size()] = nullptr;
  ret->h_aliases = aliases;
  ret->h_addrtype = h.family;
  ret->h_length = static_cast<int>(alen);
  ret->h_addr_list = addrs;
  return true;
}

// The _r convention: 0 and *result set, or 0 with *result null and *h_errnop (not found), or an
// errno value (ERANGE: buffer too small; others with NETDB_INTERNAL).
int finish_r(const r::HostResult& h, hostent* ret, char* buf, std::size_t buflen, hostent** result, int* h_errnop,
             ErrnoGuard& eg) {
  *result = nullptr;
  if (h.h_errno_value != 0) {
    if (h_errnop) *h_errnop = h.h_errno_value;
    if (h.h_errno_value == NETDB_INTERNAL) {
      eg.set_to = h.sys_errno ? h.sys_errno : EINVAL;
      return eg.set_to;
    }
    return h.rc;
  }
  if (!pack_hostent(h, ret, buf, buflen)) {
    if (h_errnop) *h_errnop = NETDB_INTERNAL;
    eg.set_to = ERANGE;
    return ERANGE;
  }
  if (h_errnop) *h_errnop = 0;
  *result = ret;
  return 0;
}

// Storage behind the non-reentrant variants, per thread, grown until the answer fits.
struct StaticHost {
  hostent ent{};
  std::vector<char> buf = std::vector<char>(1024);
};
hostent* static_result(const r::HostResult& h, ErrnoGuard& eg) {
  StaticHost& tl_host = grove::detail::thread_part<StaticHost, &grove::detail::ThreadContext::static_host>();
  if (h.h_errno_value != 0) {
    h_errno = h.h_errno_value;
    if (h.h_errno_value == NETDB_INTERNAL) eg.set_to = h.sys_errno ? h.sys_errno : EINVAL;
    return nullptr;
  }
  while (!pack_hostent(h, &tl_host.ent, tl_host.buf.data(), tl_host.buf.size())) tl_host.buf.resize(tl_host.buf.size() * 2);
  return &tl_host.ent;
}

template <class F>
r::HostResult guarded(F&& f) noexcept {
  try {
    return f();
  } catch (...) {  // no memory (or a hub that cannot be created): nothing was resolved
    r::HostResult h;
    h.h_errno_value = NETDB_INTERNAL;
    h.sys_errno = ENOMEM;
    return h;
  }
}

}  // namespace

extern "C" {

int grove_getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  ErrnoGuard eg;
  if (!res) {
    eg.set_to = EINVAL;
    return EAI_SYSTEM;
  }
  *res = nullptr;
  try {
    r::GaiResult g = r::getaddrinfo(node, service, hints);
    if (g.foreign) {
      r::remember_foreign(g.foreign);
      *res = g.foreign;
    }
    if (g.code != 0) {
      if (g.code == EAI_SYSTEM) eg.set_to = g.sys_errno ? g.sys_errno : EIO;
      return g.code;
    }
    if (g.foreign) return 0;
    addrinfo* head = nullptr;
    addrinfo** tail = &head;
    for (const auto& a : g.addrs)
      for (const auto& s : g.services) {
        addrinfo* n = make_node(a, s, g.flags);
        if (!n) {
          free_list(head);
          return EAI_MEMORY;
        }
        *tail = n;
        tail = &n->ai_next;
      }
    if (!head) return EAI_NONAME;
    if (g.has_canonical) {
      head->ai_canonname = ::strdup(g.canonical.c_str());
      if (!head->ai_canonname) {
        free_list(head);
        return EAI_MEMORY;
      }
    }
    *res = head;
    return 0;
  } catch (...) {
    return EAI_MEMORY;
  }
}

void grove_freeaddrinfo(addrinfo* ai) {
  if (!ai) return;
  if (r::is_foreign(ai)) {
    r::free_foreign(ai);
    return;
  }
  free_list(ai);
}

int grove_getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                      socklen_t servlen, int flags) {
  ErrnoGuard eg;
  try {
    r::NameResult n = r::getnameinfo(sa, salen, host && hostlen > 0, serv && servlen > 0, flags);
    if (n.code != 0) {
      if (n.code == EAI_SYSTEM) eg.set_to = n.sys_errno ? n.sys_errno : EIO;
      return n.code;
    }
    if (host && hostlen > 0) {
      if (n.host.size() + 1 > hostlen) return EAI_OVERFLOW;
      std::memcpy(host, n.host.c_str(), n.host.size() + 1);
    }
    if (serv && servlen > 0) {
      if (n.service.size() + 1 > servlen) return EAI_OVERFLOW;
      std::memcpy(serv, n.service.c_str(), n.service.size() + 1);
    }
    return 0;
  } catch (...) {
    return EAI_MEMORY;
  }
}

const char* grove_gai_strerror(int code) { return ::gai_strerror(code); }

namespace {

// The non-reentrant variants' answer in per-thread storage; out of memory there is NETDB_INTERNAL.
hostent* static_or_enomem(const r::HostResult& h, ErrnoGuard& eg) {
  try {
    return static_result(h, eg);
  } catch (...) {
    h_errno = NETDB_INTERNAL;
    eg.set_to = ENOMEM;
    return nullptr;
  }
}

}  // namespace

hostent* grove_gethostbyname2(const char* name, int af) {
  ErrnoGuard eg;
  return static_or_enomem(guarded([&] { return r::gethostbyname(name, af); }), eg);
}

hostent* grove_gethostbyname(const char* name) { return grove_gethostbyname2(name, AF_INET); }

int grove_gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result,
                           int* h_errnop) {
  ErrnoGuard eg;
  r::HostResult h = guarded([&] { return r::gethostbyname(name, af); });
  return finish_r(h, ret, buf, buflen, result, h_errnop, eg);
}

int grove_gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen, hostent** result,
                          int* h_errnop) {
  return grove_gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

hostent* grove_gethostbyaddr(const void* addr, socklen_t len, int type) {
  ErrnoGuard eg;
  return static_or_enomem(guarded([&] { return r::gethostbyaddr(addr, len, type); }), eg);
}

int grove_gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret, char* buf, size_t buflen,
                          hostent** result, int* h_errnop) {
  ErrnoGuard eg;
  r::HostResult h = guarded([&] { return r::gethostbyaddr(addr, len, type); });
  return finish_r(h, ret, buf, buflen, result, h_errnop, eg);
}

}  // extern "C"

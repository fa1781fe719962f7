// dns.cpp — getaddrinfo & co.: answered by grove's resolver (c-ares on the hub, glibc's rules for
// `hosts: files dns`, libc itself on the offload pool for other nsswitch sources), so a lookup
// parks only its greenlet. glibc's own resolver cannot be made cooperative: it makes internal
// poll/recvmsg calls that no hook can reach.
//
// Where no greenlet may park (inside the hub) or the interposer is disabled, libc answers.
// freeaddrinfo is always grove's: it frees lists from either resolver.
#include <netdb.h>

#include "hook.hpp"
#include "grove/dns_c.h"

using namespace grove::interpose;

namespace {

// libc answers when hooks are off, or before dlsym has found it (then grove does, which is fine).
template <class F>
bool use_libc(F* real_fn) noexcept {
  return real_fn && !active();
}

}  // namespace

extern "C" {

int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  if (use_libc(real::getaddrinfo)) return real::getaddrinfo(node, service, hints, res);
  return grove_getaddrinfo(node, service, hints, res);
}

void freeaddrinfo(addrinfo* res) {
  if (real::disabled && real::freeaddrinfo) return real::freeaddrinfo(res);
  grove_freeaddrinfo(res);
}

int getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv, socklen_t servlen,
                int flags) {
  if (use_libc(real::getnameinfo)) return real::getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
  return grove_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
}

hostent* gethostbyname(const char* name) {
  if (use_libc(real::gethostbyname)) return real::gethostbyname(name);
  return grove_gethostbyname(name);
}

hostent* gethostbyname2(const char* name, int af) {
  if (use_libc(real::gethostbyname2)) return real::gethostbyname2(name, af);
  return grove_gethostbyname2(name, af);
}

int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen, hostent** result, int* h_errnop) {
  if (use_libc(real::gethostbyname_r)) return real::gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
  return grove_gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}

int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result,
                     int* h_errnop) {
  if (use_libc(real::gethostbyname2_r)) return real::gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
  return grove_gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
}

hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  if (use_libc(real::gethostbyaddr)) return real::gethostbyaddr(addr, len, type);
  return grove_gethostbyaddr(addr, len, type);
}

int gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret, char* buf, size_t buflen,
                    hostent** result, int* h_errnop) {
  if (use_libc(real::gethostbyaddr_r))
    return real::gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
  return grove_gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}

}  // extern "C"

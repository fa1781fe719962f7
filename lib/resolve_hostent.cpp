// resolve_hostent.cpp — gethostbyname2 and gethostbyaddr as glibc answers them: numeric names
// without a lookup (__nss_hostname_digits_dots), then the nsswitch sources in order, with the
// h_errno and return code of glibc's *_r functions. With an nsswitch source grove lacks, libc's
// own function answers (resolve_foreign.cpp).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <cstring>

#include "resolve.hpp"
#include "resolve_foreign.hpp"
#include "resolve_numeric.hpp"
#include "resolve_sources.hpp"

namespace grove::detail::resolve {

namespace {

// What the *_r functions return besides h_errno: 0 for found and for not found, else an errno
// value — EAGAIN for a source that said "try again", the source's own code for "unavailable".
void set_return_code(HostResult& r, Nss last, int last_rc) {
  if (r.h_errno_value == NETDB_INTERNAL && r.sys_errno == 0) r.sys_errno = ENOMEM;
  if (last == Nss::tryagain && r.h_errno_value != NETDB_INTERNAL)
    r.rc = EAGAIN;
  else if (last == Nss::unavail || last == Nss::tryagain)
    r.rc = r.h_errno_value == NETDB_INTERNAL ? r.sys_errno : (last_rc ? last_rc : EIO);
}

}  // namespace

HostResult gethostbyname(const char* name, int family) {
  HostResult r;
  r.family = family;
  if (family != AF_INET && family != AF_INET6) {
    r.h_errno_value = NETDB_INTERNAL;
    r.sys_errno = EAFNOSUPPORT;
    return r;
  }
  if (!name) {
    r.h_errno_value = HOST_NOT_FOUND;
    return r;
  }
  if (*name == '\0') {  // glibc: the resolver cannot even build the query
    r.h_errno_value = NO_RECOVERY;
    return r;
  }
  // Numeric names (glibc's __nss_hostname_digits_dots): no lookup, the name is the address.
  Addr a;
  bool digits_dots = true;
  for (const char* p = name; *p; ++p) digits_dots &= std::isdigit(static_cast<unsigned char>(*p)) || *p == '.';
  if (digits_dots) {
    if (family != AF_INET || !aton_exact(name, a.bytes) || name[std::strlen(name) - 1] == '.') {
      r.h_errno_value = HOST_NOT_FOUND;
      return r;
    }
    a.family = AF_INET;
    r.name = name;
    r.addrs.push_back(a);
    return r;
  }
  if (std::strchr(name, ':')) {
    if (family == AF_INET6 && ::inet_pton(AF_INET6, name, a.bytes) == 1) {
      a.family = AF_INET6;
      r.name = name;
      r.addrs.push_back(a);
    } else {
      r.h_errno_value = HOST_NOT_FOUND;
    }
    return r;
  }
  const NssConfig& nss = read_nsswitch();
  if (nss.foreign && foreign_allowed()) return foreign_gethostbyname(name, family);
  r.h_errno_value = HOST_NOT_FOUND;
  int last_rc = 0;
  const auto last = walk_sources(nss, [&](const Source& s) -> std::optional<Nss> {
    SourceAnswer ans = by_name(s, name, family);
    last_rc = ans.rc;
    if (ans.wake != Wake::none) {
      set_interrupted(r, ans.wake);
      return std::nullopt;
    }
    if (ans.config_error) {
      r.h_errno_value = NETDB_INTERNAL;
      r.sys_errno = EINVAL;
      return std::nullopt;
    }
    r.h_errno_value = ans.herr;
    if (ans.status == Nss::success) {
      r.h_errno_value = 0;
      r.name = ans.canonical.empty() ? name : ans.canonical;
      r.aliases = std::move(ans.aliases);
      r.addrs = std::move(ans.addrs);
    }
    return ans.status;
  });
  if (last) set_return_code(r, *last, last_rc);
  return r;
}

HostResult gethostbyaddr(const void* addr, socklen_t len, int type) {
  HostResult r;
  r.family = type;
  if (!addr || (type == AF_INET && len != 4) || (type == AF_INET6 && len != 16)) {
    r.h_errno_value = NETDB_INTERNAL;
    r.sys_errno = EINVAL;
    return r;
  }
  if (type != AF_INET && type != AF_INET6) {
    r.h_errno_value = NETDB_INTERNAL;
    r.sys_errno = EAFNOSUPPORT;
    return r;
  }
  Addr want;
  want.family = type;
  std::memcpy(want.bytes, addr, len);
  if (type == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(reinterpret_cast<const in6_addr*>(want.bytes))) {
    r.h_errno_value = HOST_NOT_FOUND;
    return r;
  }
  const NssConfig& nss = read_nsswitch();
  if (nss.foreign && foreign_allowed()) return foreign_gethostbyaddr(want);
  r.h_errno_value = HOST_NOT_FOUND;
  const auto last = walk_sources(nss, [&](const Source& s) -> std::optional<Nss> {
    SourceAnswer ans = s.kind == Source::Kind::files ? files_by_addr(want) : dns_by_addr(want);
    if (ans.wake != Wake::none) {
      set_interrupted(r, ans.wake);
      return std::nullopt;
    }
    r.h_errno_value = ans.herr;
    if (ans.herr == NETDB_INTERNAL) {
      r.sys_errno = ans.config_error ? EINVAL : ENOMEM;
      return std::nullopt;
    }
    if (ans.status == Nss::success) {
      r.name = std::move(ans.canonical);
      r.aliases = std::move(ans.aliases);
    }
    return ans.status;
  });
  if (last && r.h_errno_value == 0) r.addrs.push_back(want);
  return r;
}

}  // namespace grove::detail::resolve

// resolve_numeric.cpp — see resolve_numeric.hpp.
#include "resolve_numeric.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>

namespace grove::detail::resolve {

bool aton_exact(const char* s, unsigned char out[4]) {
  for (const char* p = s; *p; ++p)
    if (std::isspace(static_cast<unsigned char>(*p))) return false;
  in_addr a;
  if (::inet_aton(s, &a) == 0) return false;
  std::memcpy(out, &a, 4);
  return true;
}

int parse_v6(const char* s, Addr& out) {
  std::string text(s);
  std::string scope;
  if (auto pct = text.find('%'); pct != std::string::npos) {
    scope = text.substr(pct + 1);
    text.resize(pct);
  }
  if (::inet_pton(AF_INET6, text.c_str(), out.bytes) != 1) return 0;
  out.family = AF_INET6;
  out.scope_id = 0;
  if (!scope.empty() || text.size() != std::strlen(s)) {
    char* end = nullptr;
    unsigned long n = std::strtoul(scope.c_str(), &end, 10);
    if (!scope.empty() && *end == '\0') {
      out.scope_id = static_cast<std::uint32_t>(n);
    } else if (unsigned idx = scope.empty() ? 0 : ::if_nametoindex(scope.c_str()); idx != 0) {
      out.scope_id = idx;
    } else {
      return -1;
    }
  }
  return 1;
}

Addr v4_mapped(const Addr& v4) {
  Addr m;
  m.family = AF_INET6;
  m.bytes[10] = m.bytes[11] = 0xff;
  std::memcpy(m.bytes + 12, v4.bytes, 4);
  return m;
}

}  // namespace grove::detail::resolve

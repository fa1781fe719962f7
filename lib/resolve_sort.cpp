// resolve_sort.cpp — see resolve_sort.hpp.
#include "resolve_sort.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "sys.hpp"

namespace grove::detail::resolve {

namespace {

struct Prefix {
  unsigned char bytes[16];
  int len;
  int value;
};

// glibc's default precedence and label tables (RFC 3484), longest prefixes first.
const Prefix kPrecedence[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 50},
    {{0x20, 0x02}, 16, 30},
    {{0}, 96, 20},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 10},
    {{0}, 0, 40},
};
const Prefix kLabels[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 0},
    {{0x20, 0x02}, 16, 2},
    {{0}, 96, 3},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 4},
    {{0xfe, 0xc0}, 10, 5},
    {{0xfc}, 7, 6},
    {{0x20, 0x01}, 32, 7},
    {{0}, 0, 1},
};

void as_v6(const Addr& a, unsigned char out[16]) {
  if (a.family == AF_INET6) {
    std::memcpy(out, a.bytes, 16);
  } else {
    std::memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    std::memcpy(out + 12, a.bytes, 4);
  }
}

template <std::size_t N>
int lookup(const Prefix (&table)[N], const Addr& a) {
  unsigned char v6[16];
  as_v6(a, v6);
  for (const auto& p : table) {
    int bits = p.len, i = 0;
    bool ok = true;
    for (; bits >= 8 && ok; bits -= 8, ++i) ok = v6[i] == p.bytes[i];
    if (ok && bits > 0) ok = ((v6[i] ^ p.bytes[i]) & (0xff << (8 - bits)) & 0xff) == 0;
    if (ok) return p.value;
  }
  return 0;
}

int scope_of(const Addr& a) {
  if (a.family == AF_INET6) {
    auto* in6 = reinterpret_cast<const in6_addr*>(a.bytes);
    if (IN6_IS_ADDR_MULTICAST(in6)) return a.bytes[1] & 0xf;
    if (IN6_IS_ADDR_LINKLOCAL(in6) || IN6_IS_ADDR_LOOPBACK(in6)) return 2;
    if (IN6_IS_ADDR_SITELOCAL(in6)) return 5;
    return 14;
  }
  if (a.family == AF_INET) {
    if (a.bytes[0] == 169 && a.bytes[1] == 254) return 2;
    if (a.bytes[0] == 127) return 2;
    return 14;
  }
  return 15;
}

struct SortKey {
  Addr dst;
  bool has_src = false;
  Addr src;
  std::size_t index = 0;
};

// Which source address the kernel would use: connect a UDP socket (no packet is sent).
bool source_for(const Addr& dst, Addr& src) {
  sockaddr_storage ss{};
  socklen_t len;
  if (dst.family == AF_INET) {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(9);
    std::memcpy(&s4->sin_addr, dst.bytes, 4);
    len = sizeof *s4;
  } else {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(9);
    std::memcpy(&s6->sin6_addr, dst.bytes, 16);
    s6->sin6_scope_id = dst.scope_id;
    len = sizeof *s6;
  }
  long fd = sys::socket(dst.family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_IP);
  if (fd < 0) return false;
  bool ok = false;
  if (sys::connect(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    sockaddr_storage me{};
    socklen_t mlen = sizeof me;
    if (sys::detail::call(SYS_getsockname, fd, &me, &mlen) == 0) {
      ok = true;
      src.family = me.ss_family;
      if (me.ss_family == AF_INET)
        std::memcpy(src.bytes, &reinterpret_cast<sockaddr_in*>(&me)->sin_addr, 4);
      else
        std::memcpy(src.bytes, &reinterpret_cast<sockaddr_in6*>(&me)->sin6_addr, 16);
    }
  }
  sys::close(static_cast<int>(fd));
  return ok;
}

bool before(const SortKey& a, const SortKey& b) {
  if (a.has_src != b.has_src) return a.has_src;  // rule 1: usable destinations first
  const int as = scope_of(a.dst), bs = scope_of(b.dst);
  if (a.has_src) {  // rule 2: matching scope
    const bool am = as == scope_of(a.src), bm = bs == scope_of(b.src);
    if (am != bm) return am;
    // rule 5: matching label
    const bool al = lookup(kLabels, a.dst) == lookup(kLabels, a.src);
    const bool bl = lookup(kLabels, b.dst) == lookup(kLabels, b.src);
    if (al != bl) return al;
  }
  const int ap = lookup(kPrecedence, a.dst), bp = lookup(kPrecedence, b.dst);  // rule 6
  if (ap != bp) return ap > bp;
  if (as != bs) return as < bs;  // rule 8: smaller scope
  return a.index < b.index;      // rule 10
}

}  // namespace

void sort_addrs(std::vector<Addr>& addrs) {
  if (addrs.size() < 2) return;
  std::vector<SortKey> keys(addrs.size());
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    keys[i].dst = addrs[i];
    keys[i].index = i;
    keys[i].has_src = source_for(addrs[i], keys[i].src);
  }
  std::stable_sort(keys.begin(), keys.end(), before);
  for (std::size_t i = 0; i < keys.size(); ++i) addrs[i] = keys[i].dst;
}

}  // namespace grove::detail::resolve

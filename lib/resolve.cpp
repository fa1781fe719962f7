// resolve.cpp — getaddrinfo, getnameinfo and gethostby* the way glibc does them, over c-ares.
//
// Design
// ------
// Programs resolving through grove must not be able to tell the difference from glibc with
// `hosts: files dns` in /etc/nsswitch.conf, so this file follows glibc's own structure (2.36):
//
//   getaddrinfo:  argument checks (EAI_BADFLAGS, EAI_FAMILY) → AI_ADDRCONFIG (which, like glibc,
//                 ignores loopback addresses: a host with only `lo` up has "no IPv4") → service
//                 (numeric, or /etc/services per protocol) → socket type/protocol table (tcp, udp,
//                 raw by default: three entries per address) → host: none (loopback or wildcard),
//                 numeric, or the nsswitch sources in order: `files` (/etc/hosts; glibc reads
//                 it on every call, we re-read it whenever stat() says it changed) and `dns`
//                 (dns.cpp) → RFC 3484 ordering → expansion.
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
// myhostname, resolve …), the whole call is run by libc's own getaddrinfo on grove's offload pool:
// the caller waits cooperatively, and only those configurations pay for a thread.
//
// Not reproduced (documented in include/grove/dns.hpp): IDN (AI_IDN is accepted and ignored),
// /etc/gai.conf (glibc's built-in RFC 3484 tables are used), rules 3, 4, 7 and 9 of the ordering
// (they need per-interface address flags; rules 1, 2, 5, 6, 8 and 10 are applied).
#include "resolve.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_set>

#include "grove/errors.hpp"
#include "grove/offload.hpp"
#include "sys.hpp"

namespace grove::detail::resolve {

namespace {

std::string g_hosts_path = "/etc/hosts";
std::string g_nss_path = "/etc/nsswitch.conf";

// ---- /etc/hosts -----------------------------------------------------------------------------------

struct HostsLine {
  std::string addr;
  std::vector<std::string> names;  // official name first
};

// glibc reads /etc/hosts and nsswitch.conf on every call; we keep the parsed contents per thread
// and re-read a file only when stat() says it changed (device, inode, size, mtime in ns): the
// same answers for one syscall instead of an open, a read and a parse per lookup.
struct Stamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  long mtime_s = 0, mtime_ns = 0;
  bool operator==(const Stamp&) const = default;
};

bool stamp_of(const std::string& path, Stamp& st) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) return false;
  st = {sb.st_dev, sb.st_ino, sb.st_size, static_cast<long>(sb.st_mtim.tv_sec), static_cast<long>(sb.st_mtim.tv_nsec)};
  return true;
}

template <class T>
struct Cached {
  std::string path;
  Stamp stamp;
  bool valid = false;
  T value;
};

// false when the file cannot be read (glibc: the source is UNAVAIL).
bool parse_hosts(std::vector<HostsLine>& out) {
  std::ifstream in(g_hosts_path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    HostsLine h;
    if (!(ls >> h.addr)) continue;
    std::string n;
    while (ls >> n) h.names.push_back(n);
    if (!h.names.empty()) out.push_back(std::move(h));
  }
  return true;
}

// The parsed hosts file, or nullptr when it cannot be read.
const std::vector<HostsLine>* hosts_lines() {
  thread_local Cached<std::vector<HostsLine>> cache;
  Stamp st;
  if (!stamp_of(g_hosts_path, st)) return nullptr;
  if (!cache.valid || cache.path != g_hosts_path || !(cache.stamp == st)) {
    std::vector<HostsLine> lines;
    if (!parse_hosts(lines)) return nullptr;
    cache.value = std::move(lines);
    cache.path = g_hosts_path;
    cache.stamp = st;
    cache.valid = true;
  }
  return &cache.value;
}

// How glibc's hosts parser reads an address for a lookup of family `mode`: AF_UNSPEC takes both
// families; AF_INET takes IPv4, IPv4-mapped IPv6 (unmapped) and ::1 (as 127.0.0.1, hence the
// familiar duplicate 127.0.0.1 for "localhost"); AF_INET6 takes IPv6 only.
bool parse_hosts_addr(const std::string& text, int mode, Addr& out) {
  unsigned char buf[16];
  if (mode != AF_INET6 && ::inet_pton(AF_INET, text.c_str(), buf) == 1) {
    out.family = AF_INET;
    std::memcpy(out.bytes, buf, 4);
    return true;
  }
  if (::inet_pton(AF_INET6, text.c_str(), buf) != 1) return false;
  if (mode == AF_INET) {
    auto* a6 = reinterpret_cast<const in6_addr*>(buf);
    out.family = AF_INET;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      std::memcpy(out.bytes, buf + 12, 4);
      return true;
    }
    if (IN6_IS_ADDR_LOOPBACK(a6)) {
      const std::uint32_t lo = htonl(INADDR_LOOPBACK);
      std::memcpy(out.bytes, &lo, 4);
      return true;
    }
    return false;
  }
  out.family = AF_INET6;
  std::memcpy(out.bytes, buf, 16);
  return true;
}

bool names_match(const HostsLine& h, const char* name) {
  for (const auto& n : h.names)
    if (::strcasecmp(n.c_str(), name) == 0) return true;
  return false;
}

enum class Nss { success, notfound, unavail, tryagain };

struct SourceAnswer {
  Nss status = Nss::notfound;
  int herr = HOST_NOT_FOUND;
  std::string canonical;
  std::vector<std::string> aliases;
  std::vector<Addr> addrs;
  Wake wake = Wake::none;  // interrupted
  bool config_error = false;
  int rc = 0;  // errno-style code glibc's gethostbyname2_r would return (non-zero: not a plain "not found")
};

SourceAnswer files_by_name(const char* name, int mode) {
  SourceAnswer a;
  const std::vector<HostsLine>* lines = hosts_lines();
  if (!lines) {
    a.status = Nss::unavail;
    return a;
  }
  for (const auto& h : *lines) {
    if (!names_match(h, name)) continue;
    Addr ad;
    if (!parse_hosts_addr(h.addr, mode, ad)) continue;
    if (a.addrs.empty()) a.canonical = h.names[0];
    for (std::size_t i = 1; i < h.names.size(); ++i)
      if (std::find(a.aliases.begin(), a.aliases.end(), h.names[i]) == a.aliases.end()) a.aliases.push_back(h.names[i]);
    a.addrs.push_back(ad);
  }
  if (!a.addrs.empty()) {
    a.status = Nss::success;
    a.herr = 0;
  }
  return a;
}

SourceAnswer dns_by_name(const char* name, int family) {
  SourceAnswer a;
  dns::HostAnswer h;
  dns::query_host(name, family, h);
  switch (h.status) {
    case dns::Status::ok:
      a.status = Nss::success;
      a.herr = 0;
      a.canonical = h.canonical;
      a.aliases = h.aliases;
      for (const auto& ip : h.addrs) {
        Addr ad;
        ad.family = ip.family;
        std::memcpy(ad.bytes, ip.bytes, 16);
        a.addrs.push_back(ad);
      }
      break;
    // How glibc's nss_dns reports each outcome (status, h_errno), as the differential test shows:
    // a server failure is "not found, try again", a timeout is "unavailable, try again", and an
    // answer without addresses is "unavailable, no recovery".
    case dns::Status::not_found: a.status = Nss::notfound; a.herr = HOST_NOT_FOUND; break;
    case dns::Status::bad_name: a.status = Nss::notfound; a.herr = HOST_NOT_FOUND; break;
    case dns::Status::no_data: a.status = Nss::notfound; a.herr = NO_DATA; break;
    case dns::Status::server_failure: a.status = Nss::notfound; a.herr = TRY_AGAIN; break;
    case dns::Status::try_again: a.status = Nss::unavail; a.herr = TRY_AGAIN; a.rc = ETIMEDOUT; break;
    case dns::Status::fail: a.status = Nss::unavail; a.herr = NO_RECOVERY; a.rc = EBADMSG; break;
    case dns::Status::no_memory: a.status = Nss::unavail; a.herr = NETDB_INTERNAL; break;
    case dns::Status::config:
      a.status = Nss::unavail;
      a.herr = NETDB_INTERNAL;
      a.config_error = true;
      break;
    case dns::Status::interrupted:
      a.status = Nss::unavail;
      a.herr = NETDB_INTERNAL;
      a.wake = h.wake;
      break;
  }
  return a;
}

// ---- /etc/nsswitch.conf ---------------------------------------------------------------------------

struct Source {
  std::string name;
  bool ret[4] = {true, false, false, false};  // by Nss status: return (true) or continue
};

struct NssConfig {
  std::vector<Source> sources;
  bool foreign = false;  // a source other than files and dns
};

NssConfig parse_nsswitch() {
  NssConfig cfg;
  std::ifstream in(g_nss_path);
  std::string line;
  bool found = false;
  while (in && std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string db = line.substr(0, colon);
    db.erase(std::remove_if(db.begin(), db.end(), ::isspace), db.end());
    if (db != "hosts") continue;
    found = true;
    std::string rest = line.substr(colon + 1);
    // "[" … "]" groups may contain spaces: turn them into single tokens first.
    std::string norm;
    bool in_br = false;
    for (char c : rest) {
      if (c == '[') in_br = true;
      if (c == ']') in_br = false;
      norm += (in_br && std::isspace(static_cast<unsigned char>(c))) ? ',' : c;
    }
    std::istringstream ls(norm);
    std::string tok;
    while (ls >> tok) {
      if (tok.front() == '[') {
        if (cfg.sources.empty()) continue;
        std::string body = tok.substr(1, tok.size() - 2);
        std::replace(body.begin(), body.end(), ',', ' ');
        std::istringstream bs(body);
        std::string item;
        while (bs >> item) {
          auto eq = item.find('=');
          if (eq == std::string::npos) continue;
          std::string st = item.substr(0, eq), act = item.substr(eq + 1);
          bool neg = !st.empty() && st[0] == '!';
          if (neg) st.erase(0, 1);
          for (auto& ch : st) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
          for (auto& ch : act) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          const bool r = act == "return";
          const char* names[4] = {"SUCCESS", "NOTFOUND", "UNAVAIL", "TRYAGAIN"};
          for (int i = 0; i < 4; ++i)
            if ((st == names[i]) != neg) cfg.sources.back().ret[i] = r;
        }
        continue;
      }
      Source s;
      s.name = tok;
      if (tok != "files" && tok != "dns") cfg.foreign = true;
      cfg.sources.push_back(s);
    }
  }
  if (!found || cfg.sources.empty()) {
    // No hosts line: glibc's built-in default is "dns [!UNAVAIL=return] files"; we keep the
    // common configuration instead, and say so.
    cfg.sources = {Source{"files"}, Source{"dns"}};
    cfg.foreign = false;
  }
  return cfg;
}

const NssConfig& read_nsswitch() {
  thread_local Cached<NssConfig> cache;
  Stamp st;
  const bool exists = stamp_of(g_nss_path, st);
  if (!cache.valid || cache.path != g_nss_path || !(cache.stamp == st)) {
    cache.value = parse_nsswitch();
    cache.path = g_nss_path;
    cache.stamp = exists ? st : Stamp{};
    cache.valid = true;
  }
  return cache.value;
}

// ---- libc's own getaddrinfo, for foreign sources ------------------------------------------------

using gai_fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
using freeai_fn = void (*)(addrinfo*);

// RTLD_NEXT from libgrove: under the interposer the preload library comes first, so "next" is
// libc's definition, never the hook.
gai_fn real_getaddrinfo() {
  static gai_fn fn = reinterpret_cast<gai_fn>(::dlsym(RTLD_NEXT, "getaddrinfo"));
  return fn ? fn : &::getaddrinfo;
}
freeai_fn real_freeaddrinfo() {
  static freeai_fn fn = reinterpret_cast<freeai_fn>(::dlsym(RTLD_NEXT, "freeaddrinfo"));
  return fn ? fn : &::freeaddrinfo;
}

std::mutex g_foreign_mu;
std::unordered_set<const addrinfo*> g_foreign;
std::atomic<std::size_t> g_foreign_count{0};

// ---- AI_ADDRCONFIG ------------------------------------------------------------------------------------

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

// ---- services -----------------------------------------------------------------------------------------

struct TypeProto {
  int socktype;
  int protocol;
  bool protoany;   // the caller's protocol is used as is (raw)
  bool noservice;  // a service cannot be given (raw)
  bool by_default; // returned when neither socktype nor protocol is given
  const char* name;
};

constexpr TypeProto kTypeProtos[] = {
    {SOCK_STREAM, IPPROTO_TCP, false, false, true, "tcp"},
    {SOCK_DGRAM, IPPROTO_UDP, false, false, true, "udp"},
    {SOCK_DCCP, IPPROTO_DCCP, false, false, false, "dccp"},
    {SOCK_DGRAM, IPPROTO_UDPLITE, false, false, false, "udplite"},
    {SOCK_STREAM, IPPROTO_SCTP, false, false, false, "sctp"},
    {SOCK_SEQPACKET, IPPROTO_SCTP, false, false, false, "sctp"},
    {SOCK_RAW, 0, true, true, true, "raw"},
};

bool matches(const TypeProto& tp, const addrinfo& h) {
  if (h.ai_socktype != 0 && h.ai_socktype != tp.socktype) return false;
  if (h.ai_protocol != 0 && !tp.protoany && h.ai_protocol != tp.protocol) return false;
  return true;
}

// /etc/services through libc (a file read, never a network wait). -1 if unknown.
int service_port(const char* name, const char* proto) {
  servent se;
  servent* res = nullptr;
  char buf[1024];
  if (::getservbyname_r(name, proto, &se, buf, sizeof buf, &res) != 0 || !res) return -1;
  return se.s_port;  // network order already
}

// Fills r.services; returns 0 or an EAI code.
int services(const char* service, const addrinfo& h, GaiResult& r) {
  const TypeProto* chosen = nullptr;
  if (h.ai_socktype != 0 || h.ai_protocol != 0) {
    for (const auto& tp : kTypeProtos)
      if (matches(tp, h)) {
        chosen = &tp;
        break;
      }
    if (!chosen) return h.ai_socktype != 0 ? EAI_SOCKTYPE : EAI_SERVICE;
  }
  long num = 0;
  bool named = false;
  if (service) {
    if (chosen && chosen->noservice) return EAI_SERVICE;
    char* end = nullptr;
    // glibc keeps the number in an int: "-1" (ULONG_MAX) turns negative and is looked up by name.
    num = static_cast<int>(std::strtoul(service, &end, 10));
    named = *end != '\0' || num < 0;
  }
  auto proto_of = [&](const TypeProto& tp) { return tp.protoany ? h.ai_protocol : tp.protocol; };
  if (named) {
    if (chosen) {
      int port = service_port(service, chosen->name);
      if (port < 0) return EAI_SERVICE;
      r.services.push_back({chosen->socktype, proto_of(*chosen), static_cast<std::uint16_t>(port)});
    } else {
      for (const auto& tp : kTypeProtos) {
        if (tp.noservice) continue;
        int port = service_port(service, tp.name);
        if (port < 0) continue;
        r.services.push_back({tp.socktype, proto_of(tp), static_cast<std::uint16_t>(port)});
      }
      if (r.services.empty()) return EAI_SERVICE;
    }
    return 0;
  }
  const std::uint16_t port = htons(static_cast<std::uint16_t>(num));
  if (chosen) {
    r.services.push_back({chosen->socktype, proto_of(*chosen), port});
  } else {
    for (const auto& tp : kTypeProtos)
      if (tp.by_default) r.services.push_back({tp.socktype, proto_of(tp), port});
  }
  return 0;
}

// ---- numeric hosts ----------------------------------------------------------------------------------

// inet_aton, but the whole string must be the address (glibc's __inet_aton_exact).
bool aton_exact(const char* s, unsigned char out[4]) {
  for (const char* p = s; *p; ++p)
    if (std::isspace(static_cast<unsigned char>(*p))) return false;
  in_addr a;
  if (::inet_aton(s, &a) == 0) return false;
  std::memcpy(out, &a, 4);
  return true;
}

// IPv6 with an optional %scope (interface name or number). 1: parsed, 0: not IPv6, -1: bad scope.
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

// ---- RFC 3484 ordering (glibc's rfc3484_sort with its built-in tables) ---------------------------

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

// ---- the nsswitch loop for getaddrinfo ---------------------------------------------------------

Addr mapped(const Addr& v4) {
  Addr m;
  m.family = AF_INET6;
  m.bytes[10] = m.bytes[11] = 0xff;
  std::memcpy(m.bytes + 12, v4.bytes, 4);
  return m;
}

SourceAnswer ask(const Source& s, const char* name, int family) {
  return s.name == "files" ? files_by_name(name, family) : dns_by_name(name, family);
}

void interrupted(GaiResult& r, Wake w) {
  r.code = EAI_SYSTEM;
  r.wake = w;
  r.sys_errno = w == Wake::killed ? ECANCELED : ETIMEDOUT;
}

bool fatal_answer(const SourceAnswer& a, GaiResult& r) {
  if (a.wake != Wake::none) {
    interrupted(r, a.wake);
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

int no_data_of(const SourceAnswer& a) {
  if (a.status == Nss::success) return 0;
  if (a.herr == TRY_AGAIN) return EAI_AGAIN;
  return a.herr == NO_DATA ? 1 : 0;
}

// Host part by name through the sources. Returns 0 or an EAI code; fills r.addrs / r.canonical.
int hosts_by_name(const char* name, const addrinfo& h, const NssConfig& nss, GaiResult& r) {
  int no_data = 0, no_inet6_data = 0;
  bool got = false;
  for (const Source& s : nss.sources) {
    no_data = 0;
    Nss status;
    std::vector<Addr> found;
    std::string canon;
    if (h.ai_family == AF_UNSPEC) {
      SourceAnswer a = ask(s, name, AF_UNSPEC);
      if (fatal_answer(a, r)) return r.code;
      status = a.status;
      no_data = no_data_of(a);
      found = std::move(a.addrs);
      canon = a.canonical;
      no_inet6_data = no_data;
    } else {
      Nss st6 = Nss::notfound;
      bool got_ipv6 = false;
      if (h.ai_family == AF_INET6) {
        SourceAnswer a = ask(s, name, AF_INET6);
        if (fatal_answer(a, r)) return r.code;
        st6 = a.status;
        no_data = no_data_of(a);
        no_inet6_data = no_data;
        got_ipv6 = !a.addrs.empty();
        found = std::move(a.addrs);
        canon = a.canonical;
      }
      status = Nss::notfound;
      if (h.ai_family == AF_INET ||
          ((h.ai_flags & AI_V4MAPPED) && ((h.ai_flags & AI_ALL) || !got_ipv6))) {
        SourceAnswer a = ask(s, name, AF_INET);
        if (fatal_answer(a, r)) return r.code;
        status = a.status;
        no_data = no_data_of(a);
        if (h.ai_family == AF_INET) no_inet6_data = no_data;
        for (const Addr& ad : a.addrs) found.push_back(h.ai_family == AF_INET6 ? mapped(ad) : ad);
        if (canon.empty()) canon = a.canonical;
      }
      if (st6 == Nss::success || status == Nss::success)
        status = Nss::success;
      else if (st6 == Nss::tryagain)
        status = Nss::tryagain;
      else if (status == Nss::unavail && st6 != Nss::unavail && h.ai_family == AF_INET6)
        status = st6;
    }
    if (status == Nss::success) {
      // glibc drops IPv4-mapped answers when real IPv6 ones came back and AI_ALL was not given.
      bool got_ipv6 = false;
      if (h.ai_family == AF_INET6)
        for (const Addr& ad : found) got_ipv6 |= !IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(ad.bytes));
      if (got_ipv6 && (h.ai_flags & (AI_V4MAPPED | AI_ALL)) == AI_V4MAPPED)
        found.erase(std::remove_if(found.begin(), found.end(),
                                   [](const Addr& ad) {
                                     return IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(ad.bytes));
                                   }),
                    found.end());
      r.addrs = std::move(found);
      r.canonical = canon.empty() ? name : canon;
      got = !r.addrs.empty();
    }
    if (s.ret[static_cast<int>(status)]) break;
  }
  if (got) return 0;
  if (no_data != 0 && no_inet6_data != 0) {
    if (no_data == EAI_AGAIN && no_inet6_data == EAI_AGAIN) return EAI_AGAIN;
    return EAI_NODATA;
  }
  return EAI_NONAME;
}

GaiResult foreign_getaddrinfo(const char* node, const char* service, const addrinfo* hints) {
  GaiResult r;
  struct Out {
    int code = 0;
    int err = 0;
    addrinfo* ai = nullptr;
  };
  std::string n = node ? node : "", sv = service ? service : "";
  const bool has_n = node, has_s = service, has_h = hints;
  addrinfo hh{};
  if (hints) {
    hh.ai_flags = hints->ai_flags;
    hh.ai_family = hints->ai_family;
    hh.ai_socktype = hints->ai_socktype;
    hh.ai_protocol = hints->ai_protocol;
  }
  try {
    // A result that arrives after the caller left is freed where it lands (see offload.hpp).
    struct Holder {
      Out out;
      Holder() = default;
      Holder(Holder&& o) noexcept : out(std::exchange(o.out, Out{})) {}
      ~Holder() {
        if (out.ai) real_freeaddrinfo()(out.ai);
      }
    };
    Holder got = grove::offload([=] {
      Holder h;
      h.out.code = real_getaddrinfo()(has_n ? n.c_str() : nullptr, has_s ? sv.c_str() : nullptr,
                                      has_h ? &hh : nullptr, &h.out.ai);
      h.out.err = errno;
      return h;
    });
    r.code = got.out.code;
    r.sys_errno = got.out.err;
    r.foreign = std::exchange(got.out.ai, nullptr);
  } catch (const GreenletExit&) {
    interrupted(r, Wake::killed);
  } catch (const TimeoutError&) {
    interrupted(r, Wake::scope_timeout);
  } catch (...) {
    r.code = EAI_MEMORY;
  }
  return r;
}

}  // namespace

// ---- getaddrinfo -----------------------------------------------------------------------------------

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
  if (int c = services(service, h, r)) return r.code = c, r;

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
  } else {
    Addr a;
    if (aton_exact(node, a.bytes)) {
      a.family = AF_INET;
      if (h.ai_family == AF_INET || h.ai_family == AF_UNSPEC)
        r.addrs.push_back(a);
      else if (h.ai_flags & AI_V4MAPPED)
        r.addrs.push_back(mapped(a));
      else
        return r.code = EAI_ADDRFAMILY, r;
      r.canonical = node;
    } else if (int v6 = parse_v6(node, a); v6 != 0) {
      if (h.ai_family == AF_INET && IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(a.bytes))) {
        a.family = AF_INET;
        std::memmove(a.bytes, a.bytes + 12, 4);
        std::memset(a.bytes + 4, 0, 12);
      } else if (h.ai_family != AF_UNSPEC && h.ai_family != AF_INET6) {
        return r.code = EAI_ADDRFAMILY, r;
      }
      if (v6 < 0) return r.code = EAI_NONAME, r;  // a scope that names no interface
      r.addrs.push_back(a);
      r.canonical = node;
    } else if (h.ai_flags & AI_NUMERICHOST) {
      return r.code = EAI_NONAME, r;
    } else {
      const NssConfig& nss = read_nsswitch();
      if (nss.foreign) return foreign_getaddrinfo(node, service, hints);
      if (h.ai_family == AF_INET && !(h.ai_flags & AI_CANONNAME)) {
        // glibc's try_simple_gethostbyname: plain gethostbyname2_r, with its own error mapping.
        HostResult hr = gethostbyname(node, AF_INET);
        if (hr.wake != Wake::none) {
          interrupted(r, hr.wake);
          return r;
        }
        if (hr.h_errno_value == 0) {
          r.addrs = std::move(hr.addrs);
        } else if (hr.rc == 0) {
          return r.code = hr.h_errno_value == NO_DATA ? EAI_NODATA : EAI_NONAME, r;
        } else if (hr.h_errno_value == NETDB_INTERNAL) {
          r.code = EAI_SYSTEM;
          r.sys_errno = hr.sys_errno;
          return r;
        } else {
          return r.code = hr.h_errno_value == TRY_AGAIN ? EAI_AGAIN : EAI_NODATA, r;
        }
      } else if (int c = hosts_by_name(node, h, nss, r)) {
        r.code = c;
        return r;
      }
    }
  }
  r.has_canonical = (h.ai_flags & AI_CANONNAME) != 0;
  r.flags = h.ai_flags;
  sort_addrs(r.addrs);
  return r;
}

// ---- gethostbyname / gethostbyaddr -------------------------------------------------------------------

namespace {

void host_interrupted(HostResult& r, Wake w) {
  r.h_errno_value = NETDB_INTERNAL;
  r.wake = w;
  r.sys_errno = w == Wake::killed ? ECANCELED : ETIMEDOUT;
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
  bool digits_dots = *name != '\0';
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
  r.h_errno_value = HOST_NOT_FOUND;
  Nss last = Nss::notfound;
  int last_rc = 0;
  for (const Source& s : nss.sources) {
    if (s.name != "files" && s.name != "dns") continue;  // foreign sources: not for the *byname family
    SourceAnswer ans = ask(s, name, family);
    last = ans.status;
    last_rc = ans.rc;
    if (ans.wake != Wake::none) {
      host_interrupted(r, ans.wake);
      return r;
    }
    if (ans.config_error) {
      r.h_errno_value = NETDB_INTERNAL;
      r.sys_errno = EINVAL;
      return r;
    }
    r.h_errno_value = ans.herr;
    if (ans.status == Nss::success) {
      r.h_errno_value = 0;
      r.name = ans.canonical.empty() ? name : ans.canonical;
      r.aliases = std::move(ans.aliases);
      r.addrs = std::move(ans.addrs);
    }
    if (s.ret[static_cast<int>(ans.status)]) break;
  }
  if (r.h_errno_value == NETDB_INTERNAL && r.sys_errno == 0) r.sys_errno = ENOMEM;
  // gethostbyname2_r's return value: 0 for found and for not found, else an errno value.
  if (last == Nss::tryagain && r.h_errno_value != NETDB_INTERNAL)
    r.rc = EAGAIN;
  else if (last == Nss::unavail || last == Nss::tryagain)
    r.rc = r.h_errno_value == NETDB_INTERNAL ? r.sys_errno : (last_rc ? last_rc : EIO);
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
  r.h_errno_value = HOST_NOT_FOUND;
  for (const Source& s : nss.sources) {
    Nss status = Nss::notfound;
    if (s.name == "files") {
      const std::vector<HostsLine>* lines = hosts_lines();
      if (!lines) {
        status = Nss::unavail;
      } else {
        for (const auto& h : *lines) {
          Addr got;
          if (!parse_hosts_addr(h.addr, type, got) || got.family != type) continue;
          if (std::memcmp(got.bytes, want.bytes, len) != 0) continue;
          r.name = h.names[0];
          r.aliases.assign(h.names.begin() + 1, h.names.end());
          status = Nss::success;
          break;
        }
      }
      r.h_errno_value = status == Nss::success ? 0 : HOST_NOT_FOUND;
    } else if (s.name == "dns") {
      dns::Ip ip;
      ip.family = type;
      std::memcpy(ip.bytes, addr, len);
      dns::PtrAnswer p;
      dns::query_ptr(ip, p);
      switch (p.status) {
        case dns::Status::ok:
          status = Nss::success;
          r.h_errno_value = 0;
          r.name = p.name;
          r.aliases = p.aliases;
          break;
        case dns::Status::not_found:
        case dns::Status::bad_name: r.h_errno_value = HOST_NOT_FOUND; break;
        case dns::Status::no_data: r.h_errno_value = NO_DATA; break;
        case dns::Status::server_failure: r.h_errno_value = TRY_AGAIN; break;
        case dns::Status::try_again: status = Nss::unavail; r.h_errno_value = TRY_AGAIN; break;
        case dns::Status::fail: status = Nss::unavail; r.h_errno_value = NO_RECOVERY; break;
        case dns::Status::no_memory:
        case dns::Status::config:
          status = Nss::unavail;
          r.h_errno_value = NETDB_INTERNAL;
          r.sys_errno = p.status == dns::Status::config ? EINVAL : ENOMEM;
          return r;
        case dns::Status::interrupted: host_interrupted(r, p.wake); return r;
      }
    } else {
      continue;
    }
    if (s.ret[static_cast<int>(status)]) break;
  }
  if (r.h_errno_value == 0) r.addrs.push_back(want);
  return r;
}

// ---- getnameinfo -----------------------------------------------------------------------------------

NameResult getnameinfo(const sockaddr* sa, socklen_t salen, bool want_host, bool want_serv, int flags) {
  NameResult r;
  constexpr int kKnown = NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM | NI_IDN |
                         0x0040 /* NI_IDN_ALLOW_UNASSIGNED */ | 0x0080 /* NI_IDN_USE_STD3_ASCII_RULES */ |
                         0x0100 /* NI_NUMERICSCOPE */;
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
        if (flags & NI_NOFQDN) {
          // Strip our own domain, as glibc does: "host.example.com" → "host" on host.example.com.
          char me[256] = {};
          if (::gethostname(me, sizeof me - 1) == 0) {
            const char* dom = std::strchr(me, '.');
            auto dot = r.host.find('.');
            if (dom && dot != std::string::npos && ::strcasecmp(r.host.c_str() + dot, dom) == 0)
              r.host.resize(dot);
          }
        }
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
      char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
      if (!::inet_ntop(family, a.bytes, buf, sizeof buf)) return r.code = EAI_SYSTEM, r.sys_errno = errno, r;
      r.host = buf;
      if (family == AF_INET6 && a.scope_id != 0) {
        auto* in6 = reinterpret_cast<const in6_addr*>(a.bytes);
        char ifname[IF_NAMESIZE + 1];
        r.host += '%';
        if (!(flags & 0x0100) && (IN6_IS_ADDR_LINKLOCAL(in6) || IN6_IS_ADDR_MC_LINKLOCAL(in6)) &&
            ::if_indextoname(a.scope_id, ifname))
          r.host += ifname;
        else
          r.host += std::to_string(a.scope_id);
      }
    }
  }
  if (want_serv) {
    if (!(flags & NI_NUMERICSERV)) {
      servent se;
      servent* res = nullptr;
      char buf[1024];
      if (::getservbyport_r(port, (flags & NI_DGRAM) ? "udp" : "tcp", &se, buf, sizeof buf, &res) == 0 && res) {
        r.service = se.s_name;
        return r;
      }
    }
    r.service = std::to_string(ntohs(port));
  }
  return r;
}

// ---- foreign results ------------------------------------------------------------------------------

bool is_foreign(const addrinfo* ai) noexcept {
  if (g_foreign_count.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard lock(g_foreign_mu);
  return g_foreign.count(ai) != 0;
}

void remember_foreign(addrinfo* ai) {
  std::lock_guard lock(g_foreign_mu);
  g_foreign.insert(ai);
  g_foreign_count.store(g_foreign.size(), std::memory_order_release);
}

void free_foreign(addrinfo* ai) noexcept {
  {
    std::lock_guard lock(g_foreign_mu);
    g_foreign.erase(ai);
    g_foreign_count.store(g_foreign.size(), std::memory_order_release);
  }
  real_freeaddrinfo()(ai);
}

void set_files_for_tests(const std::string& hosts, const std::string& nsswitch) {
  g_hosts_path = hosts.empty() ? "/etc/hosts" : hosts;
  g_nss_path = nsswitch.empty() ? "/etc/nsswitch.conf" : nsswitch;
}

}  // namespace grove::detail::resolve

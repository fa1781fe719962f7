// resolve_hosts.cpp — the `files` source: /etc/hosts, read the way glibc's nss_files reads it.
//
// glibc reads /etc/hosts on every call; we keep the parsed contents per thread and re-read the
// file only when stat() says it changed (device, inode, size, mtime in ns): the same answers for
// one syscall instead of an open, a read and a parse per lookup.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "context.hpp"
#include "resolve_sources.hpp"

namespace grove::detail::resolve {

namespace {

std::string g_hosts_path = "/etc/hosts";

struct HostsLine {
  std::string addr;
  std::vector<std::string> names;  // official name first
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
  struct Cache {
    std::string path;
    Stamp stamp;
    bool valid = false;
    std::vector<HostsLine> lines;
  };
  Cache& cache = thread_part<Cache, &ThreadContext::hosts_cache>();
  Stamp st;
  if (!stamp_of(g_hosts_path, st)) return nullptr;
  if (!cache.valid || cache.path != g_hosts_path || !(cache.stamp == st)) {
    std::vector<HostsLine> lines;
    if (!parse_hosts(lines)) return nullptr;
    cache.lines = std::move(lines);
    cache.path = g_hosts_path;
    cache.stamp = st;
    cache.valid = true;
  }
  return &cache.lines;
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

}  // namespace

bool stamp_of(const std::string& path, Stamp& st) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) return false;
  st = {sb.st_dev, sb.st_ino, sb.st_size, static_cast<long>(sb.st_mtim.tv_sec), static_cast<long>(sb.st_mtim.tv_nsec)};
  return true;
}

void set_hosts_path(const std::string& path) { g_hosts_path = path.empty() ? "/etc/hosts" : path; }

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

SourceAnswer files_by_addr(const Addr& want) {
  SourceAnswer a;
  const std::vector<HostsLine>* lines = hosts_lines();
  if (!lines) {
    a.status = Nss::unavail;
    return a;
  }
  const std::size_t len = want.family == AF_INET ? 4 : 16;
  for (const auto& h : *lines) {
    Addr got;
    if (!parse_hosts_addr(h.addr, want.family, got) || got.family != want.family) continue;
    if (std::memcmp(got.bytes, want.bytes, len) != 0) continue;
    a.status = Nss::success;
    a.herr = 0;
    a.canonical = h.names[0];
    a.aliases.assign(h.names.begin() + 1, h.names.end());
    break;
  }
  return a;
}

}  // namespace grove::detail::resolve

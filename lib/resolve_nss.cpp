// resolve_nss.cpp — /etc/nsswitch.conf's hosts line, and the `dns` source: c-ares' answers
// reported the way glibc's nss_dns reports them (the loop over the sources is walk_sources, in
// resolve_sources.hpp).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "context.hpp"
#include "dns.hpp"
#include "resolve_sources.hpp"

namespace grove::detail::resolve {

namespace {

std::string g_nss_path = "/etc/nsswitch.conf";

// "[NOTFOUND=return !UNAVAIL=continue]" after a source: its actions per status.
void parse_actions(std::string body, Source& s) {
  std::replace(body.begin(), body.end(), ',', ' ');
  std::istringstream bs(body);
  std::string item;
  while (bs >> item) {
    auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    std::string st = item.substr(0, eq), act = item.substr(eq + 1);
    const bool neg = !st.empty() && st[0] == '!';
    if (neg) st.erase(0, 1);
    for (auto& ch : st) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    for (auto& ch : act) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const bool r = act == "return";
    const char* names[4] = {"SUCCESS", "NOTFOUND", "UNAVAIL", "TRYAGAIN"};
    for (int i = 0; i < 4; ++i)
      if ((st == names[i]) != neg) s.ret[i] = r;
  }
}

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
    // "[" … "]" groups may contain spaces: turn them into single tokens first.
    std::string norm;
    bool in_br = false;
    for (char c : line.substr(colon + 1)) {
      if (c == '[') in_br = true;
      if (c == ']') in_br = false;
      norm += (in_br && std::isspace(static_cast<unsigned char>(c))) ? ',' : c;
    }
    std::istringstream ls(norm);
    std::string tok;
    while (ls >> tok) {
      if (tok.front() == '[') {
        if (!cfg.sources.empty()) parse_actions(tok.substr(1, tok.size() - 2), cfg.sources.back());
        continue;
      }
      Source s;
      s.name = tok;
      s.kind = tok == "files" ? Source::Kind::files : tok == "dns" ? Source::Kind::dns : Source::Kind::other;
      cfg.foreign |= s.kind == Source::Kind::other;
      cfg.sources.push_back(s);
    }
  }
  if (!found || cfg.sources.empty()) {
    // No hosts line: glibc's built-in default is "dns [!UNAVAIL=return] files"; we keep the
    // common configuration instead, and say so.
    Source files, dns;
    files.name = "files";
    dns.name = "dns";
    dns.kind = Source::Kind::dns;
    cfg.sources = {files, dns};
    cfg.foreign = false;
  }
  return cfg;
}

Addr to_addr(const dns::Ip& ip) {
  Addr a;
  a.family = ip.family;
  std::memcpy(a.bytes, ip.bytes, 16);
  return a;
}

// How glibc's nss_dns reports each outcome (status, h_errno), as the differential test shows: a
// server failure is "not found, try again", a timeout is "unavailable, try again", and an answer
// without addresses is "unavailable, no recovery".
void report(dns::Status st, Wake wake, SourceAnswer& a) {
  switch (st) {
    case dns::Status::ok: a.status = Nss::success; a.herr = 0; break;
    case dns::Status::not_found:
    case dns::Status::bad_name: a.status = Nss::notfound; a.herr = HOST_NOT_FOUND; break;
    case dns::Status::no_data: a.status = Nss::notfound; a.herr = NO_DATA; break;
    case dns::Status::server_failure: a.status = Nss::notfound; a.herr = TRY_AGAIN; break;
    case dns::Status::try_again: a.status = Nss::unavail; a.herr = TRY_AGAIN; a.rc = ETIMEDOUT; break;
    case dns::Status::fail: a.status = Nss::unavail; a.herr = NO_RECOVERY; a.rc = EBADMSG; break;
    case dns::Status::no_memory: a.status = Nss::unavail; a.herr = NETDB_INTERNAL; break;
    case dns::Status::config: a.status = Nss::unavail; a.herr = NETDB_INTERNAL; a.config_error = true; break;
    case dns::Status::interrupted: a.status = Nss::unavail; a.herr = NETDB_INTERNAL; a.wake = wake; break;
  }
}

}  // namespace

const NssConfig& read_nsswitch() {
  struct Cache {
    std::string path;
    Stamp stamp;
    bool valid = false;
    NssConfig value;
  };
  Cache& cache = thread_part<Cache, &ThreadContext::nss_cache>();
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

void set_nsswitch_path(const std::string& path) { g_nss_path = path.empty() ? "/etc/nsswitch.conf" : path; }

void set_files_for_tests(const std::string& hosts, const std::string& nsswitch) {
  set_hosts_path(hosts);
  set_nsswitch_path(nsswitch);
}

SourceAnswer dns_by_name(const char* name, int family) {
  SourceAnswer a;
  dns::HostAnswer h;
  dns::query_host(name, family, h);
  report(h.status, h.wake, a);
  if (a.status == Nss::success) {
    a.canonical = std::move(h.canonical);
    a.aliases = std::move(h.aliases);
    for (const auto& ip : h.addrs) a.addrs.push_back(to_addr(ip));
  }
  return a;
}

SourceAnswer dns_by_addr(const Addr& addr) {
  SourceAnswer a;
  dns::Ip ip;
  ip.family = addr.family;
  std::memcpy(ip.bytes, addr.bytes, 16);
  dns::PtrAnswer p;
  dns::query_ptr(ip, p);
  report(p.status, p.wake, a);
  if (a.status == Nss::success) {
    a.canonical = std::move(p.name);
    a.aliases = std::move(p.aliases);
  }
  return a;
}

}  // namespace grove::detail::resolve

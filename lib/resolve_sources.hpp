// resolve_sources.hpp — the hosts sources of /etc/nsswitch.conf that grove answers itself, `files`
// (/etc/hosts, resolve_hosts.cpp) and `dns` (c-ares, through dns.hpp), and the one loop that asks
// them in the configured order (resolve_nss.cpp). Each source answers the way glibc's nss module
// of the same name does: a status for the loop's [STATUS=action] rules, an h_errno, and a record.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "resolve.hpp"
#include "waiter.hpp"

namespace grove::detail::resolve {

// NSS_STATUS_*, in the order of nsswitch.conf's action table.
enum class Nss { success, notfound, unavail, tryagain };

struct SourceAnswer {
  Nss status = Nss::notfound;
  int herr = HOST_NOT_FOUND;
  std::string canonical;  // the official name (by name: after CNAMEs; by address: the host's name)
  std::vector<std::string> aliases;
  std::vector<Addr> addrs;
  Wake wake = Wake::none;    // interrupted (kill, grove::Timeout)
  bool config_error = false; // the DNS resolver could not be set up (dns::config_error())
  int rc = 0;  // the errno-style code glibc's gethostbyname2_r would return (non-zero: not a plain "not found")
};

// files: /etc/hosts (or the test's file). mode is the family asked for (AF_UNSPEC: both), with
// glibc's reading of addresses for AF_INET (IPv4-mapped and ::1 become IPv4).
SourceAnswer files_by_name(const char* name, int mode);
SourceAnswer files_by_addr(const Addr& addr);
// dns: through c-ares, with nss_dns's way of reporting each outcome.
SourceAnswer dns_by_name(const char* name, int family);
SourceAnswer dns_by_addr(const Addr& addr);

struct Source {
  enum class Kind { files, dns, other } kind = Kind::files;
  std::string name;
  bool ret[4] = {true, false, false, false};  // by Nss status: return (true) or continue
};

struct NssConfig {
  std::vector<Source> sources;
  bool foreign = false;  // a source other than files and dns: libc has to answer (resolve_foreign.hpp)
};

// The hosts line of nsswitch.conf, re-read whenever stat() says the file changed.
const NssConfig& read_nsswitch();

// glibc's loop over the sources (nss_next_action): asks each source grove implements, in order;
// `ask` queries one and returns its status, or nullopt to stop at once (an interruption or an
// internal error, which the caller has recorded). After each answer, the source's action for
// that status says whether to go on. Returns the last status (notfound if no source was asked),
// or nullopt if `ask` stopped it.
template <class Ask>
std::optional<Nss> walk_sources(const NssConfig& nss, Ask&& ask) {
  Nss last = Nss::notfound;
  for (const Source& s : nss.sources) {
    if (s.kind == Source::Kind::other) continue;
    const std::optional<Nss> st = ask(s);
    if (!st) return std::nullopt;
    last = *st;
    if (s.ret[static_cast<int>(last)]) break;
  }
  return last;
}

inline SourceAnswer by_name(const Source& s, const char* name, int family) {
  return s.kind == Source::Kind::files ? files_by_name(name, family) : dns_by_name(name, family);
}

// What a file looked like when it was read: re-read it when stat() tells another story.
struct Stamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  long mtime_s = 0, mtime_ns = 0;
  bool operator==(const Stamp&) const = default;
};
bool stamp_of(const std::string& path, Stamp& st);

// Test hooks behind set_files_for_tests (resolve.hpp).
void set_hosts_path(const std::string& path);
void set_nsswitch_path(const std::string& path);

}  // namespace grove::detail::resolve

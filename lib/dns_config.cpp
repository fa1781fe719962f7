// dns_config.cpp — see dns_config.hpp.
#include "dns_config.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace grove::detail::dns {

namespace {

constexpr int kDefaultReceiveBuffer = 4 << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// atoi on a prefix, as glibc reads option values ("timeout:3x" is 3).
int leading_int(std::string_view s) {
  int v = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && v < 100000; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

}  // namespace

void apply_resolv_options(std::string_view words, ResolvOptions& o) {
  std::size_t p = 0;
  while (p < words.size()) {
    while (p < words.size() && (words[p] == ' ' || words[p] == '\t' || words[p] == '\r')) ++p;
    std::size_t e = p;
    while (e < words.size() && words[e] != ' ' && words[e] != '\t' && words[e] != '\r') ++e;
    const std::string_view w = words.substr(p, e - p);
    p = e;
    if (w.substr(0, 8) == "timeout:")
      o.timeout_s = std::clamp(leading_int(w.substr(8)), 1, 30);
    else if (w.substr(0, 9) == "attempts:")
      o.attempts = std::clamp(leading_int(w.substr(9)), 1, 5);
    else if (w == "rotate")
      o.rotate = true;
  }
}

ResolvOptions parse_resolv_options(std::string_view text, std::string_view env_options) {
  ResolvOptions o;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    std::size_t b = line.find_first_not_of(" \t");
    if (b == std::string_view::npos) continue;
    line.remove_prefix(b);
    if (line.substr(0, 7) == "options" && (line.size() == 7 || line[7] == ' ' || line[7] == '\t'))
      apply_resolv_options(line.substr(7), o);
  }
  apply_resolv_options(env_options, o);
  return o;
}

int parse_seconds_ms(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || errno != 0 || !(v > 0) || v > 1e6) return -1;
  return std::max(1, static_cast<int>(std::lround(v * 1000.0)));
}

int parse_positive_int(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0' || errno != 0 || v <= 0 || v > 1000) return -1;
  return static_cast<int>(v);
}

bool resolve_settings(const Config& cfg, Settings& out, std::string* error) {
  out = Settings{};
  out.resolv_conf = cfg.resolv_conf;
  out.servers = cfg.servers.empty() ? env("GROVE_DNS_SERVERS") : cfg.servers;
  out.udp_receive_buffer = cfg.udp_receive_buffer > 0 ? cfg.udp_receive_buffer : kDefaultReceiveBuffer;

  int timeout_ms = cfg.timeout_ms, tries = cfg.tries;
  if (timeout_ms <= 0 && !env("GROVE_DNS_TIMEOUT").empty()) {
    timeout_ms = parse_seconds_ms(env("GROVE_DNS_TIMEOUT"));
    if (timeout_ms < 0) {
      *error = "GROVE_DNS_TIMEOUT (seconds)='" + env("GROVE_DNS_TIMEOUT") + "' is not a positive number";
      return false;
    }
  }
  if (tries <= 0 && !env("GROVE_DNS_TRIES").empty()) {
    tries = parse_positive_int(env("GROVE_DNS_TRIES"));
    if (tries < 0) {
      *error = "GROVE_DNS_TRIES='" + env("GROVE_DNS_TRIES") + "' is not a positive number";
      return false;
    }
  }
  std::ifstream in(cfg.resolv_conf.empty() ? "/etc/resolv.conf" : cfg.resolv_conf);
  std::stringstream text;
  text << in.rdbuf();
  const ResolvOptions ro = parse_resolv_options(text.str(), env("RES_OPTIONS"));
  out.timeout_ms = timeout_ms > 0 ? timeout_ms : ro.timeout_s * 1000;
  out.tries = tries > 0 ? tries : ro.attempts;
  out.rotate = ro.rotate;
  return true;
}

}  // namespace grove::detail::dns

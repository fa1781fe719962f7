// dns_config.hpp — where the resolver's settings come from, resolved once per thread's resolver.
//
// Precedence, field by field: an explicit dns::Config (tests, programs), then the GROVE_DNS_*
// environment variables, then resolv.conf, then glibc's defaults. c-ares reads resolv.conf's
// nameserver, search, domain, ndots and sortlist lines itself; glibc's timeout:/attempts:/rotate
// options (which c-ares 1.18 does not know: it reads only the BSD spellings retrans:/retry:) are
// read here, with RES_OPTIONS from the environment overriding the file, as in glibc. The parsing
// is pure (strings in, values out) so that tests/dns/test_dns_parts.cpp can check it alone.
#pragma once

#include <string>
#include <string_view>

#include "dns.hpp"

namespace grove::detail::dns {

// glibc's defaults: RES_TIMEOUT, RES_DFLRETRY.
struct ResolvOptions {
  int timeout_s = 5;
  int attempts = 2;
  bool rotate = false;
};

// Applies the words of one `options` line (or RES_OPTIONS): timeout:N (1–30 s), attempts:N (1–5),
// rotate; other words are c-ares' business and ignored here. Later words win.
void apply_resolv_options(std::string_view words, ResolvOptions& o);
// Every `options` line of a resolv.conf text, then RES_OPTIONS (`env_options`).
ResolvOptions parse_resolv_options(std::string_view conf_text, std::string_view env_options);

// A positive number of seconds ("0.2", "5") as milliseconds, rounded; -1 if it is not one.
int parse_seconds_ms(const std::string& text);
// A positive whole number; -1 if it is not one.
int parse_positive_int(const std::string& text);

// Everything a channel is built from.
struct Settings {
  std::string resolv_conf;   // the file c-ares reads ("" : its default, /etc/resolv.conf)
  std::string servers;       // ip[:port] list replacing resolv.conf's nameservers, or ""
  int timeout_ms = 5000;
  int tries = 2;
  bool rotate = false;
  int udp_receive_buffer = 4 << 20;  // bytes to ask for per UDP socket
};

// Resolves cfg against the environment and resolv.conf. false, with *error saying which value is
// wrong, for a malformed GROVE_DNS_TIMEOUT or GROVE_DNS_TRIES.
bool resolve_settings(const Config& cfg, Settings& out, std::string* error);

}  // namespace grove::detail::dns

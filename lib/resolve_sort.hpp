// resolve_sort.hpp — the order getaddrinfo returns addresses in: glibc's rfc3484_sort with its
// built-in tables (no /etc/gai.conf). Rules 1, 2, 5, 6, 8 and 10 are applied; 3, 4, 7 and 9 need
// per-interface address flags and are not (documented in include/grove/dns.hpp).
#pragma once

#include <vector>

#include "resolve.hpp"

namespace grove::detail::resolve {

// Stable: addresses the rules do not tell apart keep their order. Asks the kernel which source
// address it would use for each destination (a connected UDP socket; no packet is sent).
void sort_addrs(std::vector<Addr>& addrs);

}  // namespace grove::detail::resolve

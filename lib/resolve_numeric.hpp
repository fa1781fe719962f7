// resolve_numeric.hpp — host names that are addresses already: glibc's rules for reading them.
#pragma once

#include "resolve.hpp"

namespace grove::detail::resolve {

// inet_aton (so "127.1" is 127.0.0.1, as in glibc), but the whole string must be the address
// (glibc's __inet_aton_exact): no trailing junk, no spaces.
bool aton_exact(const char* s, unsigned char out[4]);
// IPv6 with an optional %scope (an interface name or number). 1: parsed, 0: not IPv6, -1: a scope
// that names no interface.
int parse_v6(const char* s, Addr& out);
// ::ffff:a.b.c.d for an IPv4 address.
Addr v4_mapped(const Addr& v4);

}  // namespace grove::detail::resolve

// resolve_services.hpp — the service half of getaddrinfo and getnameinfo: port numbers and names
// (/etc/services through libc's getservby*_r: a file read, never a network wait) and glibc's
// table of socket types and protocols.
#pragma once

#include <netdb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "resolve.hpp"

namespace grove::detail::resolve {

// The (socket type, protocol, port) tuples for `service` (null: none, port 0) under hints `h`,
// as glibc builds them: one per socket type by default (stream, datagram, raw), only the types
// whose protocol knows a named service. Returns 0 or EAI_SERVICE / EAI_SOCKTYPE.
int services(const char* service, const addrinfo& h, std::vector<ServiceTuple>& out);

// getnameinfo's service text for `port` (network order): the /etc/services name for tcp (udp with
// NI_DGRAM), or the number with NI_NUMERICSERV or when it has no name.
std::string service_text(std::uint16_t port, int ni_flags);

}  // namespace grove::detail::resolve

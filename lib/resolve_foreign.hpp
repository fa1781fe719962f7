// resolve_foreign.hpp — libc's own resolver, for /etc/nsswitch.conf sources grove cannot answer
// (mdns4_minimal, ldap, myhostname, resolve …). The whole call is run by libc's function on
// grove's offload pool: the caller waits cooperatively, and only those configurations pay for a
// thread. Which functions are libc's is set by set_libc_resolver (grove/detail/libc_resolver.hpp).
#pragma once

#include "resolve.hpp"

namespace grove::detail::resolve {

// False (and an error logged once) when called from inside one of libc's functions run by the
// calls below: "libc's" function then leads back to grove, and the caller must answer from the
// sources it has instead of offloading again.
bool foreign_allowed() noexcept;

// A result that arrives after the caller was interrupted (kill, grove::Timeout) is freed where it
// lands; the caller gets EAI_SYSTEM / NETDB_INTERNAL with ECANCELED or ETIMEDOUT.
GaiResult foreign_getaddrinfo(const char* node, const char* service, const addrinfo* hints);
HostResult foreign_gethostbyname(const char* name, int family);
HostResult foreign_gethostbyaddr(const Addr& addr);
NameResult foreign_getnameinfo(const sockaddr* sa, socklen_t salen, bool want_host, bool want_serv, int flags);

}  // namespace grove::detail::resolve

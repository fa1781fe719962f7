// detail/libc_resolver.hpp — how grove's resolver reaches libc's own getaddrinfo & co.
//
// grove answers `hosts: files dns` itself; when /etc/nsswitch.conf lists a source it cannot
// answer (mdns4_minimal, ldap, myhostname, …) it runs libc's function on the offload pool, and it
// frees the lists that function made with libc's freeaddrinfo. By default those are libc's
// symbols as the dynamic linker binds them. A library that exports functions of the same names
// in front of libc — the interposer does — must hand grove the originals, once, before the first
// lookup (from a load-time constructor): otherwise grove would call the replacement, and the
// replacement calls grove. lib/ never looks the originals up itself (no dlsym there).
//
// Internal to grove and its interposer; not part of the stable C++ API.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstddef>

namespace grove::detail {

struct LibcResolver {
  int (*getaddrinfo)(const char*, const char*, const addrinfo*, addrinfo**) = nullptr;
  void (*freeaddrinfo)(addrinfo*) = nullptr;
  int (*getnameinfo)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int) = nullptr;
  int (*gethostbyname2_r)(const char*, int, hostent*, char*, std::size_t, hostent**, int*) = nullptr;
  int (*gethostbyaddr_r)(const void*, socklen_t, int, hostent*, char*, std::size_t, hostent**, int*) = nullptr;
};

// Replaces the functions grove calls for libc's own resolver; a null member leaves that one as it
// was. Thread-safe, but meant to be called once, before lookups start.
void set_libc_resolver(const LibcResolver& fns) noexcept;

}  // namespace grove::detail

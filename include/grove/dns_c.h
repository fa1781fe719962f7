/* dns_c.h — grove's resolver with glibc's C signatures and semantics.
 *
 * Same arguments, results, error codes and memory rules as the glibc functions they are named
 * after (hosts: files dns; see grove/dns.hpp for what is and is not reproduced). They never throw.
 * Called from a greenlet they park only that greenlet; called from a plain thread they run that
 * thread's hub until the answer arrives. A lookup interrupted by a kill or an expired
 * grove::Timeout fails with EAI_SYSTEM (errno ECANCELED or ETIMEDOUT), or for the gethostby*
 * family with h_errno NETDB_INTERNAL and the same errno.
 *
 * gethostbyname, gethostbyname2 and gethostbyaddr return per-thread storage (glibc's is per
 * process), overwritten by the next call of the same thread. grove_freeaddrinfo frees lists from
 * grove_getaddrinfo, including those produced by libc's getaddrinfo for nsswitch sources grove
 * does not implement. */
#ifndef GROVE_DNS_C_H
#define GROVE_DNS_C_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Declared at file scope so that the prototypes below name the same types in strict ISO C, where
 * <netdb.h> only defines struct addrinfo with POSIX features (_POSIX_C_SOURCE ≥ 200112L). */
struct addrinfo;
struct hostent;
struct sockaddr;

int grove_getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res);
void grove_freeaddrinfo(struct addrinfo* res);
int grove_getnameinfo(const struct sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                      socklen_t servlen, int flags);
/* gai_strerror-compatible text for the EAI_* codes above (glibc's own strings). */
const char* grove_gai_strerror(int code);

struct hostent* grove_gethostbyname(const char* name);
struct hostent* grove_gethostbyname2(const char* name, int af);
int grove_gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t buflen, struct hostent** result,
                          int* h_errnop);
int grove_gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf, size_t buflen,
                           struct hostent** result, int* h_errnop);
struct hostent* grove_gethostbyaddr(const void* addr, socklen_t len, int type);
int grove_gethostbyaddr_r(const void* addr, socklen_t len, int type, struct hostent* ret, char* buf, size_t buflen,
                          struct hostent** result, int* h_errnop);

#ifdef __cplusplus
}
#endif

#endif

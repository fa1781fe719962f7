// real.hpp — the libc functions the interposer replaces, as libc implements them.
//
// The only place that resolves originals: once, from a load-time constructor, with
// dlsym(RTLD_NEXT). Until then (a hook called from another library's constructor, or from inside
// dlsym itself when an allocator replacement reads a file) each pointer holds a fallback that
// makes the raw system call, so nothing recurses into the hooks or into dlsym.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

namespace grove::interpose::real {

extern int (*socket)(int, int, int);
extern int (*socketpair)(int, int, int, int[2]);
extern int (*accept)(int, sockaddr*, socklen_t*);
extern int (*accept4)(int, sockaddr*, socklen_t*, int);
extern int (*connect)(int, const sockaddr*, socklen_t);
extern int (*shutdown)(int, int);
extern ssize_t (*read)(int, void*, size_t);
extern ssize_t (*write)(int, const void*, size_t);
extern ssize_t (*readv)(int, const iovec*, int);
extern ssize_t (*writev)(int, const iovec*, int);
extern ssize_t (*recv)(int, void*, size_t, int);
extern ssize_t (*recvfrom)(int, void*, size_t, int, sockaddr*, socklen_t*);
extern ssize_t (*recvmsg)(int, msghdr*, int);
extern int (*recvmmsg)(int, mmsghdr*, unsigned, int, timespec*);
extern ssize_t (*send)(int, const void*, size_t, int);
extern ssize_t (*sendto)(int, const void*, size_t, int, const sockaddr*, socklen_t);
extern ssize_t (*sendmsg)(int, const msghdr*, int);
extern int (*sendmmsg)(int, mmsghdr*, unsigned, int);
extern int (*close)(int);
extern int (*dup)(int);
extern int (*dup2)(int, int);
extern int (*dup3)(int, int, int);
extern int (*fcntl)(int, int, long);
extern int (*ioctl)(int, unsigned long, void*);
extern int (*setsockopt)(int, int, int, const void*, socklen_t);
extern int (*getsockopt)(int, int, int, void*, socklen_t*);
extern int (*poll)(pollfd*, nfds_t, int);
extern int (*ppoll)(pollfd*, nfds_t, const timespec*, const sigset_t*);
extern int (*select)(int, fd_set*, fd_set*, fd_set*, timeval*);
extern int (*pselect)(int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*);
extern int (*epoll_wait)(int, epoll_event*, int, int);
extern int (*epoll_pwait)(int, epoll_event*, int, int, const sigset_t*);
extern unsigned (*sleep)(unsigned);
extern int (*usleep)(useconds_t);
extern int (*nanosleep)(const timespec*, timespec*);
extern int (*clock_nanosleep)(clockid_t, int, const timespec*, timespec*);
extern pid_t (*fork)();
extern int (*sigaction)(int, const struct sigaction*, struct sigaction*);
// DNS: no system call to fall back on; null until resolved (the hooks then answer themselves).
extern int (*getaddrinfo)(const char*, const char*, const addrinfo*, addrinfo**);
extern void (*freeaddrinfo)(addrinfo*);
extern int (*getnameinfo)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
extern hostent* (*gethostbyname)(const char*);
extern hostent* (*gethostbyname2)(const char*, int);
extern int (*gethostbyname_r)(const char*, hostent*, char*, size_t, hostent**, int*);
extern int (*gethostbyname2_r)(const char*, int, hostent*, char*, size_t, hostent**, int*);
extern hostent* (*gethostbyaddr)(const void*, socklen_t, int);
extern int (*gethostbyaddr_r)(const void*, socklen_t, int, hostent*, char*, size_t, hostent**, int*);

// GROVE_DISABLE=1: every hook is a pure pass-through.
extern bool disabled;

}  // namespace grove::interpose::real

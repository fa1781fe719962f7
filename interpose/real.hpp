// real.hpp — the libc functions the interposer replaces, as libc implements them.
//
// The only place that resolves originals: once, from a load-time constructor, with
// dlsym(RTLD_NEXT). Until then (a hook called from another library's constructor, or from inside
// dlsym itself when an allocator replacement reads a file) each pointer holds a fallback that
// makes the raw system call, so nothing recurses into the hooks or into dlsym. Functions with no
// system call behind them (DNS, stdio, system) are null until resolved; their hooks call
// ensure_resolved() first.
#pragma once

#include <netdb.h>
#include <pthread.h>
#include <semaphore.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

// X(name, return type, parameter list)
#define GROVE_REAL_FUNCTIONS(X)                                                                        \
  X(socket, int, (int, int, int))                                                                      \
  X(socketpair, int, (int, int, int, int*))                                                            \
  X(accept, int, (int, sockaddr*, socklen_t*))                                                         \
  X(accept4, int, (int, sockaddr*, socklen_t*, int))                                                   \
  X(connect, int, (int, const sockaddr*, socklen_t))                                                   \
  X(read, ssize_t, (int, void*, size_t))                                                               \
  X(write, ssize_t, (int, const void*, size_t))                                                        \
  X(readv, ssize_t, (int, const iovec*, int))                                                          \
  X(writev, ssize_t, (int, const iovec*, int))                                                         \
  X(recv, ssize_t, (int, void*, size_t, int))                                                          \
  X(recvfrom, ssize_t, (int, void*, size_t, int, sockaddr*, socklen_t*))                               \
  X(recvmsg, ssize_t, (int, msghdr*, int))                                                             \
  X(recvmmsg, int, (int, mmsghdr*, unsigned, int, timespec*))                                          \
  X(send, ssize_t, (int, const void*, size_t, int))                                                    \
  X(sendto, ssize_t, (int, const void*, size_t, int, const sockaddr*, socklen_t))                      \
  X(sendmsg, ssize_t, (int, const msghdr*, int))                                                       \
  X(sendmmsg, int, (int, mmsghdr*, unsigned, int))                                                     \
  X(sendfile, ssize_t, (int, int, off_t*, size_t))                                                     \
  X(splice, ssize_t, (int, loff_t*, int, loff_t*, size_t, unsigned))                                   \
  X(close, int, (int))                                                                                 \
  X(close_range, int, (unsigned, unsigned, int))                                                       \
  X(dup, int, (int))                                                                                   \
  X(dup2, int, (int, int))                                                                             \
  X(dup3, int, (int, int, int))                                                                        \
  X(fcntl, int, (int, int, long))                                                                      \
  X(ioctl, int, (int, unsigned long, void*))                                                           \
  X(setsockopt, int, (int, int, int, const void*, socklen_t))                                          \
  X(poll, int, (pollfd*, nfds_t, int))                                                                 \
  X(ppoll, int, (pollfd*, nfds_t, const timespec*, const sigset_t*))                                   \
  X(select, int, (int, fd_set*, fd_set*, fd_set*, timeval*))                                           \
  X(pselect, int, (int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*))                  \
  X(epoll_wait, int, (int, epoll_event*, int, int))                                                    \
  X(epoll_pwait, int, (int, epoll_event*, int, int, const sigset_t*))                                  \
  X(epoll_pwait2, int, (int, epoll_event*, int, const timespec*, const sigset_t*))                     \
  X(sleep, unsigned, (unsigned))                                                                       \
  X(usleep, int, (useconds_t))                                                                         \
  X(nanosleep, int, (const timespec*, timespec*))                                                      \
  X(clock_nanosleep, int, (clockid_t, int, const timespec*, timespec*))                                \
  X(sigaction, int, (int, const struct sigaction*, struct sigaction*))                                 \
  X(wait4, pid_t, (pid_t, int*, int, rusage*))                                                         \
  X(waitid, int, (idtype_t, id_t, siginfo_t*, int))                                                    \
  X(ptrace, long, (int, pid_t, void*, void*))                                                          \
  X(fclose, int, (FILE*))                                                                              \
  X(system, int, (const char*))                                                                        \
  X(popen, FILE*, (const char*, const char*))                                                          \
  X(pclose, int, (FILE*))                                                                              \
  X(getaddrinfo, int, (const char*, const char*, const addrinfo*, addrinfo**))                         \
  X(freeaddrinfo, void, (addrinfo*))                                                                   \
  X(getnameinfo, int, (const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int))           \
  X(gethostbyname, hostent*, (const char*))                                                            \
  X(gethostbyname2, hostent*, (const char*, int))                                                      \
  X(gethostbyname_r, int, (const char*, hostent*, char*, size_t, hostent**, int*))                     \
  X(gethostbyname2_r, int, (const char*, int, hostent*, char*, size_t, hostent**, int*))               \
  X(gethostbyaddr, hostent*, (const void*, socklen_t, int))                                            \
  X(gethostbyaddr_r, int, (const void*, socklen_t, int, hostent*, char*, size_t, hostent**, int*))

// Green threads (threads.cpp, sync.cpp, c11.cpp, futex.cpp): glibc's own, for the calls and
// objects green threads leave to it. No raw stand-ins: null until resolved (ensure_resolved()).
#define GROVE_REAL_THREAD_FUNCTIONS(X)                                                                 \
  X(pthread_create, int, (pthread_t*, const pthread_attr_t*, void* (*)(void*), void*))                 \
  X(pthread_join, int, (pthread_t, void**))                                                            \
  X(pthread_tryjoin_np, int, (pthread_t, void**))                                                      \
  X(pthread_timedjoin_np, int, (pthread_t, void**, const timespec*))                                   \
  X(pthread_clockjoin_np, int, (pthread_t, void**, clockid_t, const timespec*))                        \
  X(pthread_detach, int, (pthread_t))                                                                  \
  X(pthread_exit, void, (void*))                                                                       \
  X(pthread_self, pthread_t, ())                                                                       \
  X(pthread_once, int, (pthread_once_t*, void (*)()))                                                  \
  X(pthread_getattr_np, int, (pthread_t, pthread_attr_t*))                                             \
  X(pthread_setname_np, int, (pthread_t, const char*))                                                 \
  X(pthread_getname_np, int, (pthread_t, char*, size_t))                                               \
  X(pthread_key_create, int, (pthread_key_t*, void (*)(void*)))                                        \
  X(pthread_key_delete, int, (pthread_key_t))                                                          \
  X(pthread_getspecific, void*, (pthread_key_t))                                                       \
  X(pthread_setspecific, int, (pthread_key_t, const void*))                                            \
  X(pthread_kill, int, (pthread_t, int))                                                               \
  X(pthread_cancel, int, (pthread_t))                                                                  \
  X(pthread_sigmask, int, (int, const sigset_t*, sigset_t*))                                           \
  X(sched_yield, int, ())                                                                              \
  X(pthread_mutex_init, int, (pthread_mutex_t*, const pthread_mutexattr_t*))                           \
  X(pthread_mutex_destroy, int, (pthread_mutex_t*))                                                    \
  X(pthread_mutex_lock, int, (pthread_mutex_t*))                                                       \
  X(pthread_mutex_trylock, int, (pthread_mutex_t*))                                                    \
  X(pthread_mutex_timedlock, int, (pthread_mutex_t*, const timespec*))                                 \
  X(pthread_mutex_clocklock, int, (pthread_mutex_t*, clockid_t, const timespec*))                      \
  X(pthread_mutex_unlock, int, (pthread_mutex_t*))                                                     \
  X(pthread_cond_init, int, (pthread_cond_t*, const pthread_condattr_t*))                              \
  X(pthread_cond_destroy, int, (pthread_cond_t*))                                                      \
  X(pthread_cond_wait, int, (pthread_cond_t*, pthread_mutex_t*))                                       \
  X(pthread_cond_timedwait, int, (pthread_cond_t*, pthread_mutex_t*, const timespec*))                 \
  X(pthread_cond_clockwait, int, (pthread_cond_t*, pthread_mutex_t*, clockid_t, const timespec*))      \
  X(pthread_cond_signal, int, (pthread_cond_t*))                                                       \
  X(pthread_cond_broadcast, int, (pthread_cond_t*))                                                    \
  X(pthread_rwlock_init, int, (pthread_rwlock_t*, const pthread_rwlockattr_t*))                        \
  X(pthread_rwlock_destroy, int, (pthread_rwlock_t*))                                                  \
  X(pthread_rwlock_rdlock, int, (pthread_rwlock_t*))                                                   \
  X(pthread_rwlock_tryrdlock, int, (pthread_rwlock_t*))                                                \
  X(pthread_rwlock_timedrdlock, int, (pthread_rwlock_t*, const timespec*))                             \
  X(pthread_rwlock_clockrdlock, int, (pthread_rwlock_t*, clockid_t, const timespec*))                  \
  X(pthread_rwlock_wrlock, int, (pthread_rwlock_t*))                                                   \
  X(pthread_rwlock_trywrlock, int, (pthread_rwlock_t*))                                                \
  X(pthread_rwlock_timedwrlock, int, (pthread_rwlock_t*, const timespec*))                             \
  X(pthread_rwlock_clockwrlock, int, (pthread_rwlock_t*, clockid_t, const timespec*))                  \
  X(pthread_rwlock_unlock, int, (pthread_rwlock_t*))                                                   \
  X(pthread_barrier_init, int, (pthread_barrier_t*, const pthread_barrierattr_t*, unsigned))           \
  X(pthread_barrier_destroy, int, (pthread_barrier_t*))                                                \
  X(pthread_barrier_wait, int, (pthread_barrier_t*))                                                   \
  X(pthread_spin_lock, int, (pthread_spinlock_t*))                                                     \
  X(pthread_spin_trylock, int, (pthread_spinlock_t*))                                                  \
  X(pthread_spin_unlock, int, (pthread_spinlock_t*))                                                   \
  X(sem_init, int, (sem_t*, int, unsigned))                                                            \
  X(sem_destroy, int, (sem_t*))                                                                        \
  X(sem_wait, int, (sem_t*))                                                                           \
  X(sem_trywait, int, (sem_t*))                                                                        \
  X(sem_timedwait, int, (sem_t*, const timespec*))                                                     \
  X(sem_clockwait, int, (sem_t*, clockid_t, const timespec*))                                          \
  X(sem_post, int, (sem_t*))                                                                           \
  X(sem_getvalue, int, (sem_t*, int*))                                                                 \
  X(syscall, long, (long, long, long, long, long, long, long))

namespace grove::interpose::real {

#define GROVE_DECLARE_REAL(name, ret, params) extern ret(*name) params;
GROVE_REAL_FUNCTIONS(GROVE_DECLARE_REAL)
GROVE_REAL_THREAD_FUNCTIONS(GROVE_DECLARE_REAL)
#undef GROVE_DECLARE_REAL

// GROVE_DISABLE=1: every hook is a pure pass-through.
extern bool disabled;
// GROVE_MAIN_HUB=1: the main thread gets its hub at load (interpose/startup.cpp).
extern bool main_hub;

// Resolves every original now if the load-time constructor has not run yet (for the functions
// without a raw-syscall stand-in, called before it).
void ensure_resolved() noexcept;

}  // namespace grove::interpose::real

#include "real.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <type_traits>

extern "C" int __sigaction(int, const struct sigaction*, struct sigaction*);

namespace grove::interpose::real {

namespace {

// Raw-syscall stand-ins, used until dlsym has answered (and if it never does).
long sc(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  return ::syscall(nr, a, b, c, d, e, f);
}
template <class T>
long L(T v) {
  if constexpr (std::is_pointer_v<T>)
    return reinterpret_cast<long>(v);
  else
    return static_cast<long>(v);
}

int f_socket(int d, int t, int p) { return static_cast<int>(sc(SYS_socket, d, t, p)); }
int f_socketpair(int d, int t, int p, int sv[2]) { return static_cast<int>(sc(SYS_socketpair, d, t, p, L(sv))); }
int f_accept(int fd, sockaddr* a, socklen_t* l) { return static_cast<int>(sc(SYS_accept, fd, L(a), L(l))); }
int f_accept4(int fd, sockaddr* a, socklen_t* l, int fl) { return static_cast<int>(sc(SYS_accept4, fd, L(a), L(l), fl)); }
int f_connect(int fd, const sockaddr* a, socklen_t l) { return static_cast<int>(sc(SYS_connect, fd, L(a), l)); }
int f_shutdown(int fd, int how) { return static_cast<int>(sc(SYS_shutdown, fd, how)); }
ssize_t f_read(int fd, void* b, size_t n) { return sc(SYS_read, fd, L(b), L(n)); }
ssize_t f_write(int fd, const void* b, size_t n) { return sc(SYS_write, fd, L(b), L(n)); }
ssize_t f_readv(int fd, const iovec* v, int n) { return sc(SYS_readv, fd, L(v), n); }
ssize_t f_writev(int fd, const iovec* v, int n) { return sc(SYS_writev, fd, L(v), n); }
ssize_t f_recv(int fd, void* b, size_t n, int fl) { return sc(SYS_recvfrom, fd, L(b), L(n), fl, 0, 0); }
ssize_t f_recvfrom(int fd, void* b, size_t n, int fl, sockaddr* a, socklen_t* l) {
  return sc(SYS_recvfrom, fd, L(b), L(n), fl, L(a), L(l));
}
ssize_t f_recvmsg(int fd, msghdr* m, int fl) { return sc(SYS_recvmsg, fd, L(m), fl); }
int f_recvmmsg(int fd, mmsghdr* m, unsigned n, int fl, timespec* t) {
  return static_cast<int>(sc(SYS_recvmmsg, fd, L(m), n, fl, L(t)));
}
ssize_t f_send(int fd, const void* b, size_t n, int fl) { return sc(SYS_sendto, fd, L(b), L(n), fl, 0, 0); }
ssize_t f_sendto(int fd, const void* b, size_t n, int fl, const sockaddr* a, socklen_t l) {
  return sc(SYS_sendto, fd, L(b), L(n), fl, L(a), l);
}
ssize_t f_sendmsg(int fd, const msghdr* m, int fl) { return sc(SYS_sendmsg, fd, L(m), fl); }
int f_sendmmsg(int fd, mmsghdr* m, unsigned n, int fl) { return static_cast<int>(sc(SYS_sendmmsg, fd, L(m), n, fl)); }
int f_close(int fd) { return static_cast<int>(sc(SYS_close, fd)); }
int f_dup(int fd) { return static_cast<int>(sc(SYS_dup, fd)); }
int f_dup2(int a, int b) { return static_cast<int>(a == b ? sc(SYS_fcntl, a, F_GETFD) < 0 ? -1 : b : sc(SYS_dup3, a, b, 0)); }
int f_dup3(int a, int b, int fl) { return static_cast<int>(sc(SYS_dup3, a, b, fl)); }
int f_fcntl(int fd, int cmd, long arg) { return static_cast<int>(sc(SYS_fcntl, fd, cmd, arg)); }
int f_ioctl(int fd, unsigned long req, void* arg) { return static_cast<int>(sc(SYS_ioctl, fd, L(req), L(arg))); }
int f_setsockopt(int fd, int lv, int nm, const void* v, socklen_t l) {
  return static_cast<int>(sc(SYS_setsockopt, fd, lv, nm, L(v), l));
}
int f_getsockopt(int fd, int lv, int nm, void* v, socklen_t* l) {
  return static_cast<int>(sc(SYS_getsockopt, fd, lv, nm, L(v), L(l)));
}
int f_ppoll(pollfd* f, nfds_t n, const timespec* t, const sigset_t* m) {
  return static_cast<int>(sc(SYS_ppoll, L(f), L(n), L(t), L(m), 8));
}
int f_poll(pollfd* f, nfds_t n, int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000L};
  return f_ppoll(f, n, ms < 0 ? nullptr : &ts, nullptr);
}
int f_pselect(int n, fd_set* r, fd_set* w, fd_set* e, const timespec* t, const sigset_t* m) {
  struct {
    const sigset_t* set;
    long size;
  } mask{m, 8};
  return static_cast<int>(sc(SYS_pselect6, n, L(r), L(w), L(e), L(t), m ? L(&mask) : 0));
}
int f_select(int n, fd_set* r, fd_set* w, fd_set* e, timeval* tv) {
  return static_cast<int>(sc(SYS_select, n, L(r), L(w), L(e), L(tv)));
}
int f_epoll_pwait(int ep, epoll_event* ev, int max, int ms, const sigset_t* m) {
  return static_cast<int>(sc(SYS_epoll_pwait, ep, L(ev), max, ms, L(m), 8));
}
int f_epoll_wait(int ep, epoll_event* ev, int max, int ms) { return f_epoll_pwait(ep, ev, max, ms, nullptr); }
int f_nanosleep(const timespec* req, timespec* rem) { return static_cast<int>(sc(SYS_nanosleep, L(req), L(rem))); }
int f_clock_nanosleep(clockid_t c, int fl, const timespec* req, timespec* rem) {
  long r = ::syscall(SYS_clock_nanosleep, c, fl, req, rem);  // returns the error, not -1/errno
  return r < 0 ? errno : 0;
}
unsigned f_sleep(unsigned s) {
  timespec req{static_cast<time_t>(s), 0}, rem{};
  return f_nanosleep(&req, &rem) == 0 ? 0 : static_cast<unsigned>(rem.tv_sec + (rem.tv_nsec > 0));
}
int f_usleep(useconds_t us) {
  timespec req{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
  return f_nanosleep(&req, nullptr);
}
pid_t f_fork() { return static_cast<pid_t>(sc(SYS_clone, SIGCHLD, 0, 0, 0, 0)); }

template <class F>
void resolve(F*& slot, const char* name) {
  if (void* p = ::dlsym(RTLD_NEXT, name)) slot = reinterpret_cast<F*>(p);
}

}  // namespace

int (*socket)(int, int, int) = f_socket;
int (*socketpair)(int, int, int, int[2]) = f_socketpair;
int (*accept)(int, sockaddr*, socklen_t*) = f_accept;
int (*accept4)(int, sockaddr*, socklen_t*, int) = f_accept4;
int (*connect)(int, const sockaddr*, socklen_t) = f_connect;
int (*shutdown)(int, int) = f_shutdown;
ssize_t (*read)(int, void*, size_t) = f_read;
ssize_t (*write)(int, const void*, size_t) = f_write;
ssize_t (*readv)(int, const iovec*, int) = f_readv;
ssize_t (*writev)(int, const iovec*, int) = f_writev;
ssize_t (*recv)(int, void*, size_t, int) = f_recv;
ssize_t (*recvfrom)(int, void*, size_t, int, sockaddr*, socklen_t*) = f_recvfrom;
ssize_t (*recvmsg)(int, msghdr*, int) = f_recvmsg;
int (*recvmmsg)(int, mmsghdr*, unsigned, int, timespec*) = f_recvmmsg;
ssize_t (*send)(int, const void*, size_t, int) = f_send;
ssize_t (*sendto)(int, const void*, size_t, int, const sockaddr*, socklen_t) = f_sendto;
ssize_t (*sendmsg)(int, const msghdr*, int) = f_sendmsg;
int (*sendmmsg)(int, mmsghdr*, unsigned, int) = f_sendmmsg;
int (*close)(int) = f_close;
int (*dup)(int) = f_dup;
int (*dup2)(int, int) = f_dup2;
int (*dup3)(int, int, int) = f_dup3;
int (*fcntl)(int, int, long) = f_fcntl;
int (*ioctl)(int, unsigned long, void*) = f_ioctl;
int (*setsockopt)(int, int, int, const void*, socklen_t) = f_setsockopt;
int (*getsockopt)(int, int, int, void*, socklen_t*) = f_getsockopt;
int (*poll)(pollfd*, nfds_t, int) = f_poll;
int (*ppoll)(pollfd*, nfds_t, const timespec*, const sigset_t*) = f_ppoll;
int (*select)(int, fd_set*, fd_set*, fd_set*, timeval*) = f_select;
int (*pselect)(int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*) = f_pselect;
int (*epoll_wait)(int, epoll_event*, int, int) = f_epoll_wait;
int (*epoll_pwait)(int, epoll_event*, int, int, const sigset_t*) = f_epoll_pwait;
unsigned (*sleep)(unsigned) = f_sleep;
int (*usleep)(useconds_t) = f_usleep;
int (*nanosleep)(const timespec*, timespec*) = f_nanosleep;
int (*clock_nanosleep)(clockid_t, int, const timespec*, timespec*) = f_clock_nanosleep;
pid_t (*fork)() = f_fork;
int (*sigaction)(int, const struct sigaction*, struct sigaction*) = __sigaction;
int (*getaddrinfo)(const char*, const char*, const addrinfo*, addrinfo**) = nullptr;
void (*freeaddrinfo)(addrinfo*) = nullptr;
int (*getnameinfo)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int) = nullptr;
hostent* (*gethostbyname)(const char*) = nullptr;
hostent* (*gethostbyname2)(const char*, int) = nullptr;
int (*gethostbyname_r)(const char*, hostent*, char*, size_t, hostent**, int*) = nullptr;
int (*gethostbyname2_r)(const char*, int, hostent*, char*, size_t, hostent**, int*) = nullptr;
hostent* (*gethostbyaddr)(const void*, socklen_t, int) = nullptr;
int (*gethostbyaddr_r)(const void*, socklen_t, int, hostent*, char*, size_t, hostent**, int*) = nullptr;

bool disabled = false;

namespace {

__attribute__((constructor(101))) void resolve_all() {
  const char* off = std::getenv("GROVE_DISABLE");
  disabled = off && *off && std::strcmp(off, "0") != 0;
  resolve(socket, "socket");
  resolve(socketpair, "socketpair");
  resolve(accept, "accept");
  resolve(accept4, "accept4");
  resolve(connect, "connect");
  resolve(shutdown, "shutdown");
  resolve(read, "read");
  resolve(write, "write");
  resolve(readv, "readv");
  resolve(writev, "writev");
  resolve(recv, "recv");
  resolve(recvfrom, "recvfrom");
  resolve(recvmsg, "recvmsg");
  resolve(recvmmsg, "recvmmsg");
  resolve(send, "send");
  resolve(sendto, "sendto");
  resolve(sendmsg, "sendmsg");
  resolve(sendmmsg, "sendmmsg");
  resolve(close, "close");
  resolve(dup, "dup");
  resolve(dup2, "dup2");
  resolve(dup3, "dup3");
  resolve(fcntl, "fcntl");
  resolve(ioctl, "ioctl");
  resolve(setsockopt, "setsockopt");
  resolve(getsockopt, "getsockopt");
  resolve(poll, "poll");
  resolve(ppoll, "ppoll");
  resolve(select, "select");
  resolve(pselect, "pselect");
  resolve(epoll_wait, "epoll_wait");
  resolve(epoll_pwait, "epoll_pwait");
  resolve(sleep, "sleep");
  resolve(usleep, "usleep");
  resolve(nanosleep, "nanosleep");
  resolve(clock_nanosleep, "clock_nanosleep");
  resolve(fork, "fork");
  resolve(sigaction, "sigaction");
  resolve(getaddrinfo, "getaddrinfo");
  resolve(freeaddrinfo, "freeaddrinfo");
  resolve(getnameinfo, "getnameinfo");
  resolve(gethostbyname, "gethostbyname");
  resolve(gethostbyname2, "gethostbyname2");
  resolve(gethostbyname_r, "gethostbyname_r");
  resolve(gethostbyname2_r, "gethostbyname2_r");
  resolve(gethostbyaddr, "gethostbyaddr");
  resolve(gethostbyaddr_r, "gethostbyaddr_r");
}

}  // namespace

}  // namespace grove::interpose::real

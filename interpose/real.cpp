#include "real.hpp"

#include "grove/detail/libc_resolver.hpp"
#include "grove/detail/raw_syscall.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <type_traits>

// glibc's own entry point of sigaction, which the interposer does not export under that name.
extern "C" int __sigaction(int, const struct sigaction*, struct sigaction*);

namespace grove::interpose::real {

namespace {

// Raw-syscall stand-ins, used until dlsym has answered (and if it never does).
// libc's convention (-1 and errno) on the raw instruction: libc's syscall(3) is a hook too.
template <class... A>
long sc(long nr, A... a) {
  const long r = grove::detail::raw_syscall(nr, (long)(a)...);
  if (r < 0 && r > -4096) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

int f_socket(int d, int t, int p) { return static_cast<int>(sc(SYS_socket, d, t, p)); }
int f_socketpair(int d, int t, int p, int* sv) { return static_cast<int>(sc(SYS_socketpair, d, t, p, sv)); }
int f_accept(int fd, sockaddr* a, socklen_t* l) { return static_cast<int>(sc(SYS_accept, fd, a, l)); }
int f_accept4(int fd, sockaddr* a, socklen_t* l, int fl) { return static_cast<int>(sc(SYS_accept4, fd, a, l, fl)); }
int f_connect(int fd, const sockaddr* a, socklen_t l) { return static_cast<int>(sc(SYS_connect, fd, a, l)); }
ssize_t f_read(int fd, void* b, size_t n) { return sc(SYS_read, fd, b, n); }
ssize_t f_write(int fd, const void* b, size_t n) { return sc(SYS_write, fd, b, n); }
ssize_t f_readv(int fd, const iovec* v, int n) { return sc(SYS_readv, fd, v, n); }
ssize_t f_writev(int fd, const iovec* v, int n) { return sc(SYS_writev, fd, v, n); }
ssize_t f_recv(int fd, void* b, size_t n, int fl) { return sc(SYS_recvfrom, fd, b, n, fl, nullptr, nullptr); }
ssize_t f_recvfrom(int fd, void* b, size_t n, int fl, sockaddr* a, socklen_t* l) {
  return sc(SYS_recvfrom, fd, b, n, fl, a, l);
}
ssize_t f_recvmsg(int fd, msghdr* m, int fl) { return sc(SYS_recvmsg, fd, m, fl); }
int f_recvmmsg(int fd, mmsghdr* m, unsigned n, int fl, timespec* t) {
  return static_cast<int>(sc(SYS_recvmmsg, fd, m, n, fl, t));
}
ssize_t f_send(int fd, const void* b, size_t n, int fl) { return sc(SYS_sendto, fd, b, n, fl, nullptr, 0); }
ssize_t f_sendto(int fd, const void* b, size_t n, int fl, const sockaddr* a, socklen_t l) {
  return sc(SYS_sendto, fd, b, n, fl, a, l);
}
ssize_t f_sendmsg(int fd, const msghdr* m, int fl) { return sc(SYS_sendmsg, fd, m, fl); }
int f_sendmmsg(int fd, mmsghdr* m, unsigned n, int fl) { return static_cast<int>(sc(SYS_sendmmsg, fd, m, n, fl)); }
ssize_t f_sendfile(int out, int in, off_t* off, size_t n) { return sc(SYS_sendfile, out, in, off, n); }
ssize_t f_splice(int in, loff_t* oi, int out, loff_t* oo, size_t n, unsigned fl) {
  return sc(SYS_splice, in, oi, out, oo, n, fl);
}
int f_close(int fd) { return static_cast<int>(sc(SYS_close, fd)); }
int f_close_range(unsigned a, unsigned b, int fl) { return static_cast<int>(sc(SYS_close_range, a, b, fl)); }
int f_dup(int fd) { return static_cast<int>(sc(SYS_dup, fd)); }
int f_dup2(int a, int b) {
  if (a == b) return sc(SYS_fcntl, a, F_GETFD) < 0 ? -1 : b;
  return static_cast<int>(sc(SYS_dup3, a, b, 0));
}
int f_dup3(int a, int b, int fl) { return static_cast<int>(sc(SYS_dup3, a, b, fl)); }
int f_fcntl(int fd, int cmd, long arg) { return static_cast<int>(sc(SYS_fcntl, fd, cmd, arg)); }
int f_ioctl(int fd, unsigned long req, void* arg) { return static_cast<int>(sc(SYS_ioctl, fd, req, arg)); }
int f_setsockopt(int fd, int lv, int nm, const void* v, socklen_t l) {
  return static_cast<int>(sc(SYS_setsockopt, fd, lv, nm, v, l));
}
int f_ppoll(pollfd* f, nfds_t n, const timespec* t, const sigset_t* m) {
  return static_cast<int>(sc(SYS_ppoll, f, n, t, m, 8));
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
  return static_cast<int>(sc(SYS_pselect6, n, r, w, e, t, m ? &mask : nullptr));
}
int f_select(int n, fd_set* r, fd_set* w, fd_set* e, timeval* tv) { return static_cast<int>(sc(SYS_select, n, r, w, e, tv)); }
int f_epoll_pwait(int ep, epoll_event* ev, int max, int ms, const sigset_t* m) {
  return static_cast<int>(sc(SYS_epoll_pwait, ep, ev, max, ms, m, 8));
}
int f_epoll_wait(int ep, epoll_event* ev, int max, int ms) { return f_epoll_pwait(ep, ev, max, ms, nullptr); }
int f_epoll_pwait2(int ep, epoll_event* ev, int max, const timespec* t, const sigset_t* m) {
  return static_cast<int>(sc(SYS_epoll_pwait2, ep, ev, max, t, m, 8));
}
int f_nanosleep(const timespec* req, timespec* rem) { return static_cast<int>(sc(SYS_nanosleep, req, rem)); }
int f_clock_nanosleep(clockid_t c, int fl, const timespec* req, timespec* rem) {
  return sc(SYS_clock_nanosleep, c, fl, req, rem) < 0 ? errno : 0;  // returns the error, not -1/errno
}
unsigned f_sleep(unsigned s) {
  timespec req{static_cast<time_t>(s), 0}, rem{};
  return f_nanosleep(&req, &rem) == 0 ? 0 : static_cast<unsigned>(rem.tv_sec + (rem.tv_nsec > 0));
}
int f_usleep(useconds_t us) {
  timespec req{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
  return f_nanosleep(&req, nullptr);
}
constexpr auto f_sigaction = __sigaction;
pid_t f_wait4(pid_t p, int* st, int opt, rusage* ru) { return static_cast<pid_t>(sc(SYS_wait4, p, st, opt, ru)); }
int f_waitid(idtype_t t, id_t id, siginfo_t* si, int opt) { return static_cast<int>(sc(SYS_waitid, t, id, si, opt, nullptr)); }
long f_ptrace(int req, pid_t pid, void* addr, void* data) { return sc(SYS_ptrace, req, pid, addr, data); }
// No system call behind these: null until resolved.
constexpr std::nullptr_t f_fclose = nullptr, f_system = nullptr, f_popen = nullptr, f_pclose = nullptr,
                         f_getaddrinfo = nullptr, f_freeaddrinfo = nullptr, f_getnameinfo = nullptr,
                         f_gethostbyname = nullptr, f_gethostbyname2 = nullptr, f_gethostbyname_r = nullptr,
                         f_gethostbyname2_r = nullptr, f_gethostbyaddr = nullptr, f_gethostbyaddr_r = nullptr;

template <class F>
void resolve(F*& slot, const char* name) {
  if (void* p = ::dlsym(RTLD_NEXT, name)) slot = reinterpret_cast<F*>(p);
}

std::atomic<bool> g_resolved{false};

}  // namespace

#define GROVE_DEFINE_REAL(name, ret, params) ret(*name) params = f_##name;
GROVE_REAL_FUNCTIONS(GROVE_DEFINE_REAL)
#undef GROVE_DEFINE_REAL
#define GROVE_DEFINE_REAL_NULL(name, ret, params) ret(*name) params = nullptr;
GROVE_REAL_THREAD_FUNCTIONS(GROVE_DEFINE_REAL_NULL)
#undef GROVE_DEFINE_REAL_NULL

bool disabled = false;
bool main_hub = false;

namespace {

__attribute__((constructor(101))) void resolve_all() {
  const char* off = std::getenv("GROVE_DISABLE");
  disabled = off && *off && std::strcmp(off, "0") != 0;
  const char* hub = std::getenv("GROVE_MAIN_HUB");
  main_hub = !disabled && hub && *hub && std::strcmp(hub, "0") != 0;
#define GROVE_RESOLVE_REAL(name, ret, params) resolve(name, #name);
  GROVE_REAL_FUNCTIONS(GROVE_RESOLVE_REAL)
  GROVE_REAL_THREAD_FUNCTIONS(GROVE_RESOLVE_REAL)
#undef GROVE_RESOLVE_REAL
  // grove's resolver runs libc's own functions for nsswitch sources it cannot answer (and frees
  // their lists); under the interposer those names are the hooks, so hand it the originals.
  grove::detail::LibcResolver libc;
  libc.getaddrinfo = getaddrinfo;
  libc.freeaddrinfo = freeaddrinfo;
  libc.getnameinfo = getnameinfo;
  libc.gethostbyname2_r = gethostbyname2_r;
  libc.gethostbyaddr_r = gethostbyaddr_r;
  grove::detail::set_libc_resolver(libc);  // null members keep lib/'s defaults
  g_resolved.store(true, std::memory_order_release);
}

}  // namespace

void ensure_resolved() noexcept {
  if (!g_resolved.load(std::memory_order_acquire)) resolve_all();
}

}  // namespace grove::interpose::real

// sys.hpp — the raw system calls grove itself makes.
//
// Everything here is the `syscall` instruction, never a libc wrapper: the interposer replaces
// read, close, epoll_wait, syscall(3) & co. in the whole process, and grove must not call back into
// its own hooks. Each function returns the kernel's result, or -errno on failure, and never touches
// the thread's errno, so nothing the hub does leaks into the program's errno. (x86-64 only, as is
// grove's context switching.)
#pragma once

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <sys/syscall.h>
#include <unistd.h>

#include <type_traits>

#include "grove/detail/raw_syscall.hpp"

struct sockaddr;
struct epoll_event;
struct msghdr;
struct stat;
struct iovec;
struct pollfd;

namespace grove::sys {

namespace detail {
template <class T>
inline long arg(T v) noexcept {
  if constexpr (std::is_pointer_v<T> || std::is_null_pointer_v<T>)
    return reinterpret_cast<long>(v);
  else
    return static_cast<long>(v);
}
template <class... A>
inline long call(long nr, A... args) noexcept {
  static_assert(sizeof...(A) <= 6, "at most six system call arguments");
  return grove::detail::raw_syscall(nr, arg(args)...);
}
}  // namespace detail

inline long read(int fd, void* buf, std::size_t n) noexcept { return detail::call(SYS_read, fd, buf, n); }
inline long write(int fd, const void* buf, std::size_t n) noexcept {
  return detail::call(SYS_write, fd, buf, n);
}
inline long close(int fd) noexcept { return detail::call(SYS_close, fd); }
inline long sched_yield() noexcept { return detail::call(SYS_sched_yield); }
inline long readv(int fd, const iovec* iov, int n) noexcept { return detail::call(SYS_readv, fd, iov, n); }
inline long writev(int fd, const iovec* iov, int n) noexcept { return detail::call(SYS_writev, fd, iov, n); }
// preadv2/pwritev2 at the current position (offset -1), with RWF_* flags: RWF_NOWAIT is the
// per-call O_NONBLOCK of pipes and other non-socket files (Linux >= 4.14, pipes since 5.x).
inline long preadv2(int fd, const iovec* iov, int n, int flags) noexcept {
  return detail::call(SYS_preadv2, fd, iov, n, -1L, -1L, flags);
}
inline long pwritev2(int fd, const iovec* iov, int n, int flags) noexcept {
  return detail::call(SYS_pwritev2, fd, iov, n, -1L, -1L, flags);
}
inline long fstat(int fd, struct stat* st) noexcept { return detail::call(SYS_fstat, fd, st); }
inline long ioctl(int fd, unsigned long req, void* arg) noexcept { return detail::call(SYS_ioctl, fd, req, arg); }
inline long poll(pollfd* fds, unsigned long n, int timeout_ms) noexcept {
  return detail::call(SYS_poll, fds, n, timeout_ms);
}
inline long shutdown(int fd, int how) noexcept { return detail::call(SYS_shutdown, fd, how); }
inline long setsockopt(int fd, int level, int name, const void* val, unsigned len) noexcept {
  return detail::call(SYS_setsockopt, fd, level, name, val, len);
}
inline long fcntl(int fd, int cmd, long arg = 0) noexcept { return detail::call(SYS_fcntl, fd, cmd, arg); }
inline long recvfrom(int fd, void* buf, std::size_t n, int flags, sockaddr* from, void* fromlen) noexcept {
  return detail::call(SYS_recvfrom, fd, buf, n, flags, from, fromlen);
}
inline long sendto(int fd, const void* buf, std::size_t n, int flags, const sockaddr* to, unsigned tolen) noexcept {
  return detail::call(SYS_sendto, fd, buf, n, flags, to, tolen);
}
inline long recvmsg(int fd, msghdr* msg, int flags) noexcept { return detail::call(SYS_recvmsg, fd, msg, flags); }
inline long sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return detail::call(SYS_sendmsg, fd, msg, flags);
}
inline long sendfile(int out, int in, long* offset, std::size_t count) noexcept {
  return detail::call(SYS_sendfile, out, in, offset, count);
}
inline long splice(int in, long* off_in, int out, long* off_out, std::size_t len, unsigned flags) noexcept {
  return detail::call(SYS_splice, in, off_in, out, off_out, len, flags);
}
inline long recvmmsg(int fd, void* vec, unsigned n, int flags, void* timeout) noexcept {
  return detail::call(SYS_recvmmsg, fd, vec, n, flags, timeout);
}
inline long sendmmsg(int fd, void* vec, unsigned n, int flags) noexcept {
  return detail::call(SYS_sendmmsg, fd, vec, n, flags);
}
inline long accept4(int fd, sockaddr* addr, void* len, int flags) noexcept {
  return detail::call(SYS_accept4, fd, addr, len, flags);
}
inline long connect(int fd, const sockaddr* addr, unsigned len) noexcept {
  return detail::call(SYS_connect, fd, addr, len);
}
inline long socket(int domain, int type, int proto) noexcept { return detail::call(SYS_socket, domain, type, proto); }
inline long getsockopt(int fd, int level, int name, void* val, void* len) noexcept {
  return detail::call(SYS_getsockopt, fd, level, name, val, len);
}
inline long getpeername(int fd, sockaddr* addr, void* len) noexcept {
  return detail::call(SYS_getpeername, fd, addr, len);
}
inline long epoll_create1(int flags) noexcept { return detail::call(SYS_epoll_create1, flags); }
inline long epoll_ctl(int epfd, int op, int fd, epoll_event* ev) noexcept {
  return detail::call(SYS_epoll_ctl, epfd, op, fd, ev);
}
// epoll_pwait2 (Linux 5.11) takes a timespec: no loss of sub-millisecond precision.
inline long epoll_pwait2(int epfd, epoll_event* evs, int max, const timespec* timeout) noexcept {
  return detail::call(SYS_epoll_pwait2, epfd, evs, max, timeout, nullptr, 0);
}
inline long epoll_pwait(int epfd, epoll_event* evs, int max, int timeout_ms) noexcept {
  return detail::call(SYS_epoll_pwait, epfd, evs, max, timeout_ms, nullptr, 0);
}
inline long eventfd2(unsigned initval, int flags) noexcept { return detail::call(SYS_eventfd2, initval, flags); }
inline long madvise(void* addr, std::size_t len, int advice) noexcept {
  return detail::call(SYS_madvise, addr, len, advice);
}
inline long mprotect(void* addr, std::size_t len, int prot) noexcept {
  return detail::call(SYS_mprotect, addr, len, prot);
}
inline long munmap(void* addr, std::size_t len) noexcept { return detail::call(SYS_munmap, addr, len); }
inline void* mmap(void* addr, std::size_t len, int prot, int flags, int fd, long off) noexcept {
  const long r = detail::call(SYS_mmap, addr, len, prot, flags, fd, off);
  return r < 0 && r > -4096 ? reinterpret_cast<void*>(-1) : reinterpret_cast<void*>(r);  // MAP_FAILED
}

}  // namespace grove::sys

// fd_ops.hpp — the cooperative system calls: each call's own non-blocking forms, on the one
// retry loop of fd_call.hpp. sys:: conventions inside; both surfaces map the Result (io.cpp to
// exceptions, nothrow.cpp to -errno).
//
// Blocking semantics are the kernel's: a blocking write to a stream socket or a pipe sends
// everything (Policy::full_count), MSG_WAITALL reads until the buffer is full, a blocking
// recvmmsg waits for every message unless MSG_WAITFORONE. A piece that fails after some data
// went through reports the count so far, as the kernel does; the next call reports the error.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

#include "fd_call.hpp"

struct iovec;

namespace grove::detail {

Result co_read(int fd, void* buf, std::size_t n, const Policy& p);
Result co_readv(int fd, const iovec* iov, int cnt, const Policy& p);
Result co_recvfrom(int fd, void* buf, std::size_t n, int flags, sockaddr* from, socklen_t* fromlen, const Policy& p);
Result co_recvmsg(int fd, msghdr* msg, int flags, const Policy& p);
Result co_recvmmsg(int fd, mmsghdr* v, unsigned n, int flags, const Policy& p);

Result co_write(int fd, const void* buf, std::size_t n, const Policy& p);
Result co_writev(int fd, const iovec* iov, int cnt, const Policy& p);
Result co_sendto(int fd, const void* buf, std::size_t n, int flags, const sockaddr* to, socklen_t tolen,
                 const Policy& p);
Result co_sendmsg(int fd, const msghdr* msg, int flags, const Policy& p);
Result co_sendmmsg(int fd, mmsghdr* v, unsigned n, int flags, const Policy& p);

// fd_transfer.cpp: the calls without a per-call non-blocking form, for which O_NONBLOCK is set
// for the call only (connect, sendfile and splice on sockets), or readiness comes first (accept).
Result co_accept(int fd, sockaddr* addr, socklen_t* len, int flags, const Policy& p);
Result co_connect(int fd, const sockaddr* addr, socklen_t len, const Policy& p);
Result co_sendfile(int out, int in, off_t* offset, std::size_t count, const Policy& p);
Result co_splice(int in, loff_t* off_in, int out, loff_t* off_out, std::size_t len, unsigned flags, const Policy& p);

}  // namespace grove::detail

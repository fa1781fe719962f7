// io.hpp — cooperative file-descriptor I/O.
//
// Each call tries the system call first and parks the calling greenlet only if it would block
// (EAGAIN), until the hub sees the fd ready; other greenlets run meanwhile. Errors are thrown as
// std::system_error naming the call and the fd; GreenletExit and TimeoutError come through as
// everywhere else. One greenlet may wait to read and one to write an fd at a time: a second one
// gets grove::UsageError rather than a silent hang.
//
// grove never changes an fd's flags: each call is made non-blocking by itself (MSG_DONTWAIT on
// sockets, RWF_NOWAIT or a readiness check on pipes and the like), whether or not the fd is
// O_NONBLOCK, so an fd used here behaves exactly the same when handed to C code, stdio or a child
// process afterwards. Regular files and terminals are read and written as they are (they never
// make a greenlet wait). Close fds with grove::close(), which wakes any greenlet still waiting on
// the fd with EBADF before the number can be reused. An fd belongs to the hub (thread) that waits
// on it first, until it is closed.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "time.hpp"

namespace grove {

void wait_readable(int fd);
void wait_writable(int fd);
// false if `timeout` passed before the fd became ready.
bool wait_readable(int fd, Duration timeout);
bool wait_writable(int fd, Duration timeout);

// Bytes read; 0 at end of file.
std::size_t read(int fd, void* buf, std::size_t n);
// Bytes written: at least one unless n == 0.
std::size_t write(int fd, const void* buf, std::size_t n);
void write_all(int fd, const void* buf, std::size_t n);

std::size_t recv(int fd, void* buf, std::size_t n, int flags = 0);
// MSG_NOSIGNAL is always added: a closed peer is an EPIPE error, not a SIGPIPE.
std::size_t send(int fd, const void* buf, std::size_t n, int flags = 0);
void send_all(int fd, const void* buf, std::size_t n);

// The connection's fd, close-on-exec (blocking, like every socket grove creates).
int accept(int listen_fd, sockaddr* addr = nullptr, socklen_t* addrlen = nullptr);
// Connects fd (non-blocking connect, wait, SO_ERROR). Throws std::system_error (ECONNREFUSED …).
void connect(int fd, const sockaddr* addr, socklen_t addrlen);

// Wakes greenlets waiting on fd (they get EBADF), forgets it, closes it.
void close(int fd);
// Puts O_NONBLOCK on fd (grove's own calls wait either way; libc calls on it return EAGAIN).
void set_nonblocking(int fd);

// Conveniences for numeric addresses ("127.0.0.1", "::1"): a listening TCP socket (SO_REUSEADDR;
// port 0 picks a free one) and a connected one (TCP_NODELAY). Both close-on-exec.
int tcp_listen(const std::string& host, std::uint16_t port, int backlog = 1024);
// The same with SO_REUSEPORT as well (reuse_port): several sockets, one per hub, may listen on
// the same port, and the kernel spreads incoming connections over them (grove/server.hpp).
struct ListenOptions {
  int backlog = 1024;
  bool reuse_port = false;
};
int tcp_listen(const std::string& host, std::uint16_t port, ListenOptions options);
int tcp_connect(const std::string& host, std::uint16_t port);
// The local port a socket is bound to.
std::uint16_t local_port(int fd);

}  // namespace grove

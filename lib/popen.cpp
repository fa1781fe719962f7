// popen.cpp — popen(3) and pclose(3) whose stream parks the greenlet, not the thread.
//
// glibc's popen stream reads and writes its pipe with libc-internal calls that no hook sees, and
// pclose waits for the child with an internal waitpid: ten greenlets reading `popen("sleep 1")`
// would take ten seconds. So the stream here is a stdio FILE made with fopencookie(3) whose read,
// write and close functions are grove's cooperative calls; its _fileno is set to the pipe (a
// public field of glibc's FILE), so fileno(3), poll and select on it work as with glibc's.
//
// Semantics kept from glibc: mode is "r" or "w" with an optional "e" (O_CLOEXEC on the parent's
// end), anything else is EINVAL; the child is /bin/sh -c command, with the pipe on its stdin or
// stdout and every stream of earlier popen calls closed in it (POSIX); the stream is fully
// buffered; fclose on it waits for the child too; pclose returns the child's status as waitpid
// reports it, or -1/ECHILD. A popen stream belongs to one greenlet at a time (stdio's lock on
// it is a thread's, which all greenlets of that thread share).
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <new>

#include "grove/nothrow.hpp"
#include "hub.hpp"
#include "sys.hpp"
#include <sys/syscall.h>

extern char** environ;

namespace grove::nothrow {

namespace {

struct Proc {
  int fd = -1;    // the parent's end of the pipe
  pid_t pid = 0;
  FILE* file = nullptr;
  bool in_pclose = false;  // pclose owns it; else fclose's close function frees it
  int status = -1;
  int wait_errno = 0;
  Proc* next = nullptr;
};

// Every open popen stream (for closing them in later children, and for pclose).
std::mutex g_mu;
Proc* g_procs = nullptr;

// The child of fork() inherits the streams (and may pclose them); the lock may have been held by
// another thread at fork time.
__attribute__((constructor)) void reset_lock_in_children() {
  ::pthread_atfork(nullptr, nullptr, [] { new (&g_mu) std::mutex; });
}

void unlink_locked(Proc* p) noexcept {
  for (Proc** at = &g_procs; *at; at = &(*at)->next)
    if (*at == p) {
      *at = p->next;
      return;
    }
}

// stdio's convention for the cookie functions: the count, or -1 and errno.
ssize_t stdio_result(long r) noexcept {
  if (r >= 0) return r;
  errno = static_cast<int>(-r);
  return -1;
}

ssize_t on_read(void* cookie, char* buf, size_t n) {
  const int fd = static_cast<Proc*>(cookie)->fd;
  return stdio_result(can_park() ? nothrow::read(fd, buf, n) : sys::read(fd, buf, n));
}

ssize_t on_write(void* cookie, const char* buf, size_t n) {
  const int fd = static_cast<Proc*>(cookie)->fd;
  return stdio_result(can_park() ? nothrow::write(fd, buf, n) : sys::write(fd, buf, n));
}

int on_close(void* cookie) {
  auto* p = static_cast<Proc*>(cookie);
  detail::Hub::fd_closing(p->fd);
  sys::close(p->fd);
  int status = 0;
  long r;
  do r = can_park() ? nothrow::wait4(p->pid, &status, 0, nullptr)
                    : sys::detail::call(SYS_wait4, p->pid, &status, 0, nullptr);
  while (r == -EINTR);
  p->status = r < 0 ? -1 : status;
  p->wait_errno = r < 0 ? static_cast<int>(-r) : 0;
  std::unique_lock lock(g_mu);
  if (!p->in_pclose) {  // plain fclose: nobody will ask for the status
    unlink_locked(p);
    lock.unlock();
    delete p;
  }
  return 0;
}

}  // namespace

FILE* popen(const char* command, const char* mode, int* err) noexcept {
  bool want_read = false, want_write = false, cloexec = false;
  for (const char* m = mode; m && *m; ++m) {
    if (*m == 'r') want_read = true;
    else if (*m == 'w') want_write = true;
    else if (*m == 'e') cloexec = true;
    else want_read = want_write = true;  // unknown letter: invalid, as glibc says
  }
  if (!command || want_read == want_write) {
    *err = EINVAL;
    return nullptr;
  }
  int fds[2];
  if (long r = sys::detail::call(SYS_pipe2, fds, O_CLOEXEC); r < 0) {
    *err = static_cast<int>(-r);
    return nullptr;
  }
  const int parent = want_read ? fds[0] : fds[1];
  const int child = want_read ? fds[1] : fds[0];
  const int target = want_read ? STDOUT_FILENO : STDIN_FILENO;
  auto* p = new (std::nothrow) Proc;
  if (!p) {
    sys::close(fds[0]);
    sys::close(fds[1]);
    *err = ENOMEM;
    return nullptr;
  }
  p->fd = parent;

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (child != target)
    posix_spawn_file_actions_adddup2(&fa, child, target);  // dup2 clears O_CLOEXEC on the target
  else
    sys::fcntl(child, F_SETFD, 0);  // already there: let it survive exec
  char sh[] = "sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(command), nullptr};
  int spawn_err;
  {
    std::lock_guard lock(g_mu);
    for (Proc* q = g_procs; q; q = q->next)
      if (q->fd != target) posix_spawn_file_actions_addclose(&fa, q->fd);
    spawn_err = ::posix_spawn(&p->pid, "/bin/sh", &fa, nullptr, argv, environ);
    if (spawn_err == 0) {
      p->next = g_procs;
      g_procs = p;
    }
  }
  posix_spawn_file_actions_destroy(&fa);
  sys::close(child);
  if (spawn_err != 0) {
    sys::close(parent);
    delete p;
    *err = spawn_err;
    return nullptr;
  }
  if (!cloexec) sys::fcntl(parent, F_SETFD, 0);
  cookie_io_functions_t io{};
  io.read = want_read ? on_read : nullptr;
  io.write = want_write ? on_write : nullptr;
  io.close = on_close;
  FILE* f = ::fopencookie(p, want_read ? "r" : "w", io);
  if (!f) {
    *err = errno;
    {
      std::lock_guard lock(g_mu);
      unlink_locked(p);
    }
    sys::close(parent);
    sys::detail::call(SYS_wait4, p->pid, nullptr, 0, nullptr);  // the shell sees EOF/EPIPE and ends
    delete p;
    return nullptr;
  }
  f->_fileno = parent;
  p->file = f;
  return f;
}

int pclose(FILE* f) noexcept {
  Proc* p = nullptr;
  {
    std::lock_guard lock(g_mu);
    for (Proc* q = g_procs; q; q = q->next)
      if (q->file == f) {
        p = q;
        break;
      }
    if (!p) return -ENOENT;
    unlink_locked(p);
    p->in_pclose = true;
  }
  std::fclose(f);  // flushes, closes the pipe, waits for the child (on_close)
  const int status = p->status, e = p->wait_errno;
  delete p;
  return status < 0 ? -(e ? e : ECHILD) : status;
}

}  // namespace grove::nothrow

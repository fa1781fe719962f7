// process.cpp — waitpid, wait, wait3, wait4, waitid, system, popen, pclose: waiting for a child
// process parks only the calling greenlet (lib/process.cpp and lib/popen.cpp say how).
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cstdarg>

#include "hook.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

extern "C" {

pid_t wait4(pid_t pid, int* status, int options, rusage* ru) {
  if (!active()) return real::wait4(pid, status, options, ru);
  return ret<pid_t>(nothrow::wait4(pid, status, options, ru));
}

pid_t waitpid(pid_t pid, int* status, int options) { return wait4(pid, status, options, nullptr); }

pid_t wait(int* status) { return wait4(-1, status, 0, nullptr); }

pid_t wait3(int* status, int options, rusage* ru) { return wait4(-1, status, options, ru); }

int waitid(idtype_t type, id_t id, siginfo_t* info, int options) {
  if (!active()) return real::waitid(type, id, info, options);
  return ret<int>(nothrow::waitid(type, id, info, options));
}

int system(const char* command) {
  real::ensure_resolved();
  if (!active()) return real::system(command);
  int err = 0;
  const int r = nothrow::system(command, &err);
  if (err) errno = err;
  return r;
}

FILE* popen(const char* command, const char* mode) {
  real::ensure_resolved();
  if (!active()) return real::popen(command, mode);
  int err = 0;
  FILE* f = nothrow::popen(command, mode, &err);
  if (!f) errno = err;
  return f;
}

// Streams from either popen: grove's are known by pointer; anything else is libc's.
int pclose(FILE* f) {
  real::ensure_resolved();
  if (real::disabled) return real::pclose(f);
  const int r = nothrow::pclose(f);
  if (r == -ENOENT) return real::pclose(f);
  return ret<int>(r);
}

// Not cooperative itself; it only tells the waits above that children may report ptrace stops.
long ptrace(enum __ptrace_request request, ...) {
  va_list ap;
  va_start(ap, request);
  const auto pid = va_arg(ap, pid_t);
  void* addr = va_arg(ap, void*);
  void* data = va_arg(ap, void*);
  va_end(ap);
  if (!real::disabled) nothrow::ptrace_used();
  return real::ptrace(request, pid, addr, data);
}

}  // extern "C"

GROVE_ALIAS(waitpid, __waitpid)
GROVE_ALIAS(wait, __wait)
GROVE_ALIAS(system, __libc_system)

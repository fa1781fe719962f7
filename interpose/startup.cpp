// startup.cpp — what the interposer does when it is loaded, after the originals are resolved.
//
// It checks that its hooks are the ones in effect: another library loaded before it (a second
// preload, a sanitizer runtime) may define some of the same names, and then those calls bypass
// grove. GROVE_LOG=warn names them; grove::interposer_active() answers the same question at run
// time through grove_interposer_hooks_in_effect() below.
//
// By default nothing else: a thread's hooks act once the thread has a hub, which its first grove
// call creates (a program linked with grove), and a thread that never makes one keeps libc's
// calls. GROVE_MAIN_HUB=1 gives the main thread its hub right away, so that an unmodified
// program's blocking calls go through grove's cooperative paths from the start — what green
// threads build on, and how the tests run unmodified programs through those paths.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "grove/detail/green.hpp"
#include "hook.hpp"

namespace {

constexpr const char* kHooks[] = {
    "read", "write", "readv", "writev", "recv", "recvfrom", "recvmsg", "recvmmsg", "send", "sendto", "sendmsg",
    "sendmmsg", "sendfile", "sendfile64", "splice", "socket", "socketpair", "accept", "accept4", "connect",
    "close", "close_range", "closefrom", "fclose", "dup", "dup2", "dup3", "fcntl", "fcntl64", "ioctl",
    "setsockopt", "poll", "ppoll", "select", "pselect", "epoll_wait", "epoll_pwait", "epoll_pwait2", "sleep",
    "usleep", "nanosleep", "clock_nanosleep", "sigaction", "signal", "waitpid", "wait", "wait3", "wait4",
    "waitid", "system", "popen", "pclose", "getaddrinfo", "freeaddrinfo", "getnameinfo", "gethostbyname",
    "gethostbyname2", "gethostbyname_r", "gethostbyname2_r", "gethostbyaddr", "gethostbyaddr_r"};

// The names among kHooks that resolve, process-wide, to something other than this library's
// definition; empty when all are in effect.
std::string overridden() {
  Dl_info self{};
  if (::dladdr(reinterpret_cast<void*>(&overridden), &self) == 0 || !self.dli_fname) return "(cannot tell)";
  void* mine = ::dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!mine) return "(cannot tell)";
  std::string names;
  for (const char* name : kHooks) {
    void* ours = ::dlsym(mine, name);
    if (ours && ::dlsym(RTLD_DEFAULT, name) != ours) names += names.empty() ? name : std::string(", ") + name;
  }
  ::dlclose(mine);
  return names;
}

__attribute__((constructor(102))) void start() {
  using namespace grove::interpose;
  if (real::disabled) return;
  if (const std::string names = overridden(); !names.empty()) {
    const std::string msg = "the interposer is loaded but these calls resolve elsewhere and bypass it: " + names +
                            " (another library loaded earlier defines them)";
    grove::nothrow::log_warning(msg.c_str());
  }
  if (grove::green::on()) {
    grove::green::turn_on();
    real::main_hub = true;  // green threads are greenlets of the main thread's hub
  }
  if (!real::main_hub) return;
  if (const int r = grove::nothrow::start_hub(); r < 0)
    std::fprintf(stderr, "grove: GROVE_MAIN_HUB: cannot start the main thread's hub: %s; its calls go to libc\n",
                 std::strerror(-r));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int grove_interposer_hooks_in_effect() {
  return !grove::interpose::real::disabled && overridden().empty();
}

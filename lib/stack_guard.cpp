// stack_guard.cpp — reporting a greenlet's stack overflow instead of corrupting memory.
//
// A greenlet that runs off the end of its stack touches its guard pages and gets SIGSEGV. The
// handler runs on a per-thread alternate signal stack (the faulting stack has no room left),
// checks whether the address lies in the running greenlet's guard, and if so prints which
// greenlet overflowed, its stack size and what to do, then aborts. Faults that are not ours go to
// the handler that was installed before grove's, or get the default action.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "greenlet.hpp"
#include "hub.hpp"
#include "sys.hpp"

extern "C" int __sigaction(int, const struct sigaction*, struct sigaction*);

namespace grove::detail {

namespace {

struct sigaction g_previous {};
std::once_flag g_install_once;

void put(char*& p, const char* end, const char* s) noexcept {
  while (*s && p < end) *p++ = *s++;
}

void put_number(char*& p, const char* end, std::size_t v) noexcept {
  char digits[24];
  int n = 0;
  do digits[n++] = static_cast<char>('0' + v % 10);
  while ((v /= 10) != 0);
  while (n > 0 && p < end) *p++ = digits[--n];
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  Hub* hub = Hub::get_if();
  GreenletCore* g = hub ? hub->current() : nullptr;
  if (g && g->stack.in_guard(info->si_addr)) {
    char msg[512];
    char* p = msg;
    const char* end = msg + sizeof msg - 1;
    put(p, end, "grove: stack overflow in greenlet '");
    put(p, end, g->name.c_str());
    put(p, end, "' (stack size ");
    put_number(p, end, g->stack.usable());
    put(p, end, " bytes). Give it a larger stack with grove::SpawnOptions{.stack_size = ...} or set "
                "GROVE_STACK_SIZE, or make its recursion shallower.\n");
    sys::write(STDERR_FILENO, msg, static_cast<std::size_t>(p - msg));
    ::signal(SIGABRT, SIG_DFL);
    ::abort();
  }
  // Not a greenlet's overflow: whoever handled SIGSEGV before us, or the default action.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, uctx);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  ::signal(SIGSEGV, SIG_DFL);  // returning re-executes the fault, now fatal as usual
}

}  // namespace

void install_overflow_handler() {
  std::call_once(g_install_once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    __sigaction(SIGSEGV, &sa, &g_previous);  // libc's own: never the interposer's wrapper
  });
  if (tl_ctx.altstack) return;
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) {
    tl_ctx.altstack = true;  // the program (or a sanitizer) already gave this thread one
    return;
  }
  const std::size_t size = std::max<std::size_t>(64 * 1024, SIGSTKSZ);
  void* mem = sys::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;  // overflow then dies without the report, but still dies
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = size;
  if (::sigaltstack(&ss, nullptr) == 0) tl_ctx.altstack = true;
}

}  // namespace grove::detail

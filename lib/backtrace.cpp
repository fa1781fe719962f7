// backtrace.cpp — unwinding greenlet stacks with libunwind, naming frames with Boost.Stacktrace.
//
// Unwinding. A parked greenlet is not running: its registers are on its own stack, where
// Boost.Context's jump_fcontext left them, and GreenletCore::fctx points at them. On x86-64
// (Boost 1.74's jump_x86_64_sysv_elf_gas.S) that block is
//
//     fctx + 0x00  MXCSR, x87 control word      fctx + 0x28  rbx
//     fctx + 0x08  r12                          fctx + 0x30  rbp
//     fctx + 0x10  r13                          fctx + 0x38  return address (rip)
//     fctx + 0x18  r14                          fctx + 0x40  the stack pointer after the return
//     fctx + 0x20  r15
//
// which is every callee-saved register: enough for DWARF CFI unwinding of the greenlet's stack as
// if jump_fcontext had just returned into switch_to. We build a ucontext_t (libunwind's
// unw_context_t on x86-64) from it and hand it to unw_init_local. grove is not built with frame
// pointers, and neither are the libraries a greenlet calls, so walking rbp would stop at the
// first frame without one; CFI is what every frame has. The unit test (test_dump) checks that a
// noinline function a greenlet parked in shows up, which is also what proves the layout above.
//
// libunwind is loaded with dlopen(RTLD_LOCAL) on first use rather than linked: Debian's
// libunwind.so.8 also defines _Unwind_RaiseException & co., and as a normal dependency of
// libgrove it could come before libgcc_s in the process's symbol lookup order and take over C++
// exception handling for the whole program. Loaded locally its symbols serve only us, and a
// program that never asks for a stack never loads it.
//
// Symbolizing is Boost.Stacktrace's frame (header-only) on libbacktrace (GCC's, linked in
// statically and hidden): function names demangled, file:line from DWARF where it exists, the
// library and offset otherwise. Never inside a signal handler.
#include "backtrace.hpp"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <ucontext.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#define BOOST_STACKTRACE_USE_BACKTRACE
#include <boost/stacktrace/frame.hpp>

namespace grove::detail::backtrace {

namespace {

using InitLocal = int (*)(unw_cursor_t*, unw_context_t*);
using InitLocal2 = int (*)(unw_cursor_t*, unw_context_t*, int);
using Step = int (*)(unw_cursor_t*);
using GetReg = int (*)(unw_cursor_t*, unw_regnum_t, unw_word_t*);

struct Unwinder {
  InitLocal init_local = nullptr;
  InitLocal2 init_local2 = nullptr;
  Step step = nullptr;
  GetReg get_reg = nullptr;
  const char* error = nullptr;
};

Unwinder load() noexcept {
  Unwinder u;
#if !defined(__x86_64__)
  u.error = "backtraces of greenlets are implemented for x86-64 only";
#else
  void* h = ::dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    u.error = "libunwind.so.8 cannot be loaded (Debian package libunwind8)";
    return u;
  }
  u.init_local = reinterpret_cast<InitLocal>(::dlsym(h, "_ULx86_64_init_local"));
  u.init_local2 = reinterpret_cast<InitLocal2>(::dlsym(h, "_ULx86_64_init_local2"));
  u.step = reinterpret_cast<Step>(::dlsym(h, "_ULx86_64_step"));
  u.get_reg = reinterpret_cast<GetReg>(::dlsym(h, "_ULx86_64_get_reg"));
  if (!u.init_local || !u.init_local2 || !u.step || !u.get_reg) {
    u = Unwinder{};
    u.error = "libunwind.so.8 lacks the _ULx86_64_* functions";
  }
#endif
  return u;
}

// Set by available(), read by of_signal without a guard (a handler must not take a lock).
const Unwinder* g_unwinder = nullptr;

const Unwinder& unwinder() noexcept {
  static const Unwinder u = load();
  g_unwinder = &u;
  return u;
}

void collect(const Unwinder& u, unw_cursor_t& c, Trace& out) noexcept {
  out.n = 0;
  out.truncated = false;
  do {
    unw_word_t ip = 0;
    if (u.get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0) break;
    if (out.n == kMaxFrames) {
      out.truncated = true;
      break;
    }
    out.pc[out.n++] = static_cast<std::uintptr_t>(ip);
  } while (u.step(&c) > 0);
}

std::string module_offset(std::uintptr_t pc) {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(pc), &info) == 0 || !info.dli_fname) return "";
  const char* base = std::strrchr(info.dli_fname, '/');
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s+0x%" PRIxPTR, base ? base + 1 : info.dli_fname,
                pc - reinterpret_cast<std::uintptr_t>(info.dli_fbase));
  return buf;
}

}  // namespace

bool available(const char** why) noexcept {
  const Unwinder& u = unwinder();
  if (why) *why = u.error;
  return u.error == nullptr;
}

void of_saved_context(const void* fctx, Trace& out) noexcept {
  out = Trace{};
  const Unwinder& u = unwinder();
  if (u.error || !fctx) return;
#if defined(__x86_64__)
  const auto* saved = static_cast<const std::uint64_t*>(fctx);
  ucontext_t uc;
  std::memset(&uc, 0, sizeof uc);
  greg_t* r = uc.uc_mcontext.gregs;
  r[REG_R12] = static_cast<greg_t>(saved[1]);
  r[REG_R13] = static_cast<greg_t>(saved[2]);
  r[REG_R14] = static_cast<greg_t>(saved[3]);
  r[REG_R15] = static_cast<greg_t>(saved[4]);
  r[REG_RBX] = static_cast<greg_t>(saved[5]);
  r[REG_RBP] = static_cast<greg_t>(saved[6]);
  r[REG_RIP] = static_cast<greg_t>(saved[7]);
  r[REG_RSP] = static_cast<greg_t>(reinterpret_cast<std::uintptr_t>(fctx) + 0x40);
  unw_cursor_t c;
  if (u.init_local(&c, &uc) < 0) return;
  collect(u, c, out);
#endif
}

void of_caller(Trace& out) noexcept {
  out = Trace{};
  const Unwinder& u = unwinder();
  if (u.error) return;
  ucontext_t uc;
  if (::getcontext(&uc) != 0) return;
  unw_cursor_t c;
  if (u.init_local(&c, &uc) < 0) return;
  collect(u, c, out);
  if (out.n > 0) {  // frame 0 is this function
    std::memmove(out.pc, out.pc + 1, sizeof(out.pc[0]) * static_cast<std::size_t>(out.n - 1));
    --out.n;
  }
}

void of_signal(void* ucontext, Trace& out) noexcept {
  out.n = 0;
  out.truncated = false;
  out.first_exact = true;
  const Unwinder* u = g_unwinder;
  if (!u || u->error || !ucontext) return;
  unw_cursor_t c;
  if (u->init_local2(&c, static_cast<unw_context_t*>(ucontext), UNW_INIT_SIGNAL_FRAME) < 0) return;
  collect(*u, c, out);
}

std::string describe(const Trace& t, const char* indent) {
  std::string text;
  for (int i = 0; i < t.n; ++i) {
    const std::uintptr_t pc = (i == 0 && t.first_exact) ? t.pc[i] : t.pc[i] - 1;
    std::string name, file;
    std::size_t line = 0;
    try {
      const boost::stacktrace::frame f(reinterpret_cast<boost::stacktrace::frame::native_frame_ptr_t>(pc));
      name = f.name();
      file = f.source_file();
      line = f.source_line();
    } catch (...) {
    }
    char head[64];
    std::snprintf(head, sizeof head, "#%-2d 0x%012" PRIxPTR " ", i, t.pc[i]);
    text += indent;
    text += head;
    text += name.empty() ? "??" : name;
    if (!file.empty() && line != 0) {
      text += " at " + file + ":" + std::to_string(line);
    } else if (const std::string where = module_offset(pc); !where.empty()) {
      text += " (" + where + ")";
    }
    text += '\n';
  }
  if (t.truncated) text += std::string(indent) + "… (deeper frames not shown)\n";
  return text;
}

}  // namespace grove::detail::backtrace

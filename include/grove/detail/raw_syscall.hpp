// detail/raw_syscall.hpp — the `syscall` instruction, for grove and its interposer only.
//
// Not libc's syscall(3): the interposer replaces that function too (for the program's futexes),
// and grove's own system calls must never come back through a hook. Returns the kernel's result:
// a value, or -errno; errno is never touched. x86-64, as is grove's context switching.
#pragma once

namespace grove::detail {

inline long raw_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) noexcept {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

}  // namespace grove::detail

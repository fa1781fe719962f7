// futex.cpp — syscall(SYS_futex, …) under green threads: private futex waits park the calling
// green thread and wakes reach green threads and OS threads alike (lib/green_futex.hpp). That is
// what libstdc++'s std::atomic::wait, std::latch, std::barrier and std::counting_semaphore call.
// Every other system call, and futexes that may be shared with another process, go to the kernel.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdint>

#include "grove/detail/green.hpp"
#include "hook.hpp"

using namespace grove::interpose;
namespace green = grove::green;

extern "C" long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  real::ensure_resolved();
  if (number == SYS_futex && green::on()) {
    long r;
    if (green::futex(reinterpret_cast<std::uint32_t*>(a[0]), static_cast<int>(a[1]), static_cast<std::uint32_t>(a[2]),
                     reinterpret_cast<const timespec*>(a[3]), static_cast<std::uint32_t>(a[5]), &r))
      return ret(r);
  }
  return real::syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#include "assert.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include "sys.hpp"

namespace grove::detail {

void fail_invariant(const char* file, int line, const char* condition, const char* fmt, ...) noexcept {
  char msg[1024];
  int n = condition ? std::snprintf(msg, sizeof msg, "grove: fatal: %s:%d: invariant '%s' broken: ", file, line, condition)
                    : std::snprintf(msg, sizeof msg, "grove: fatal: ");
  if (n < 0) n = 0;
  if (static_cast<std::size_t>(n) < sizeof msg) {
    va_list ap;
    va_start(ap, fmt);
    const int m = std::vsnprintf(msg + n, sizeof msg - static_cast<std::size_t>(n), fmt, ap);
    va_end(ap);
    if (m > 0) n += m;
  }
  if (static_cast<std::size_t>(n) >= sizeof msg - 1) n = static_cast<int>(sizeof msg) - 2;
  msg[n++] = '\n';
  sys::write(STDERR_FILENO, msg, static_cast<std::size_t>(n));
  std::abort();
}

}  // namespace grove::detail

// hook.hpp — what every hook has in common.
//
// A hook either passes the call to libc untouched, or hands it to grove's cooperative version of
// the same call (include/grove/nothrow.hpp), which keeps libc's semantics and parks only the
// calling greenlet. It passes when the interposer is disabled (GROVE_DISABLE=1) and wherever
// nothing could be parked: a thread that never used grove (no hub: it pays nothing but this
// check), the hub itself, a signal handler. Which fds wait how, the retry loop and the errno
// conventions live in lib/, once, for the interposer and the C++ API alike.
//
// Every hook is exported under every name libc exports it by (DESIGN §3): plain and large-file
// names (fcntl and fcntl64, sendfile and sendfile64) and the double-underscore aliases, so that no
// library reaches libc around it. GROVE_ALIAS adds a name.
#pragma once

#include <cerrno>

#include "grove/nothrow.hpp"
#include "real.hpp"

namespace grove::interpose {

inline bool active() noexcept { return !real::disabled && nothrow::can_park(); }

// libc's convention for a result of the nothrow layer: -1 and errno, or the value (errno untouched).
template <class T = long>
inline T ret(long r) noexcept {
  if (r < 0) {
    errno = static_cast<int>(-r);
    return static_cast<T>(-1);
  }
  return static_cast<T>(r);
}

}  // namespace grove::interpose

// Exports the hook `name` under the symbol `other` as well (same function, same address).
#define GROVE_ALIAS(name, other) \
  extern "C" __typeof__(name) other __attribute__((alias(#name), copy(name), visibility("default")));

// log.hpp — grove's diagnostics. The only user of spdlog is log.cpp.
//
// The level comes from GROVE_LOG (trace, debug, info, warn, error, off). By default only errors are
// printed: a greenlet's exception that nobody observed, a broken invariant — and warnings too
// when GROVE_MONITOR is set, since the monitor's reports are warnings. Call sites check
// `enabled()` inline, so a disabled level costs one load and a branch on hot paths.
#pragma once

namespace grove::log {

enum class Level : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 6 };

extern Level g_level;  // set once from GROVE_LOG before main (see log.cpp)

inline bool enabled(Level l) noexcept { return static_cast<int>(l) >= static_cast<int>(g_level); }

// printf-style; writes to stderr with a "grove" prefix when `l` is enabled.
void write(Level l, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));
// A message of any length, lines and all (a report with a stack), when `l` is enabled.
void write_text(Level l, const char* text) noexcept;

// Re-read GROVE_LOG (tests and grove-run use it); returns the new level.
Level reload_from_env() noexcept;

}  // namespace grove::log

#define GROVE_LOG(level, ...)                                           \
  do {                                                                  \
    if (::grove::log::enabled(::grove::log::Level::level)) [[unlikely]] \
      ::grove::log::write(::grove::log::Level::level, __VA_ARGS__);     \
  } while (0)

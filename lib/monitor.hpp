// monitor.hpp — grove's watch thread: dumps on a signal (GROVE_DUMP_SIGNAL) and the blocked-hub
// monitor (GROVE_MONITOR). The design is at the top of monitor.cpp.
#pragma once

#include <cstdint>

namespace grove::detail {

// A hub was just created on this thread: starts the watch thread if either variable asked for it
// (once per process, and again in a forked child). Costs one load when neither is set.
void start_watch_if_asked() noexcept;

// Parsers of the two variables: "100ms", "1.5s", "250us", "2000000ns", a bare number
// is milliseconds ("0"/"off": off); "USR2", "SIGUSR2", "12". False if not understood.
bool parse_duration(const char* text, std::int64_t& ns) noexcept;
bool parse_signal(const char* text, int& sig) noexcept;

}  // namespace grove::detail
